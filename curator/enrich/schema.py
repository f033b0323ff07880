"""The LLM's output schema, separate from the stored Enrichment; field descriptions carry the rules."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LLMEnrichment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=2, max_length=80, description="标题，用出版物语言（简体中文），不超过 30 字，不加书名号")
    summary: str = Field(
        min_length=10,
        max_length=400,
        description="一到三句话的摘要，用出版物语言（简体中文），只写原文中有的事实，不加寒暄、不加评论",
    )
    tags: list[str] = Field(max_length=4, description="从给定标签表中选择 0-4 个标签，不得自造")
    section: str = Field(description="从给定栏目 id 中选择一个")
    score: int = Field(ge=0, le=100, description="0-100，对本刊读者的价值")
    reason: str = Field(max_length=120, description="一句话说明打分理由")


class TriageScore(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(description="候选的 id，原样返回")
    score: int = Field(ge=0, le=100, description="0-100，对本刊读者的价值")
    section: str = Field(description="从给定栏目 id 中选一个")
    # For the second clustering pass (cluster.merge_translated): how a Chinese and an English report of
    # one event meet when they share no Latin name, figure or link. "" from an answer that left it out.
    title_en: str = Field(
        default="", max_length=200,
        description="标题不是英文时：标题的英文翻译，只译标题本身，简短（不超过 16 个英文词），不加说明；英文标题留空字符串",
    )


class TriageResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[TriageScore]


class ProseSentence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=2, max_length=300, description="一句话，用出版物语言（简体中文），只写所引条目里有的事实")
    stories: list[int] = Field(max_length=4, description="这句话所依据的条目 id（一个或几个），只能是给定的 id")


class ProseParagraph(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sentences: list[ProseSentence] = Field(min_length=1, max_length=8, description="本段的句子，按顺序")


class SectionProse(BaseModel):
    """One section written as prose: one to three paragraphs weaving its stories."""

    model_config = ConfigDict(extra="forbid")

    paragraphs: list[ProseParagraph] = Field(min_length=1, max_length=3, description="一到三段")


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Every object closed and every field required, as `json_schema` + `strict: true` wants."""
    if schema.get("type") == "object" or "properties" in schema:
        schema["additionalProperties"] = False
        schema["required"] = list(schema.get("properties", {}))
    schema.pop("title", None)
    schema.pop("default", None)  # strict mode: every field is required, so a default says nothing
    for value in list(schema.get("properties", {}).values()) + list(schema.get("$defs", {}).values()):
        _strict(value)
    if isinstance(schema.get("items"), dict):
        _strict(schema["items"])
    return schema


def strict_json_schema(model: type[BaseModel] = LLMEnrichment) -> dict[str, Any]:
    return _strict(model.model_json_schema())


def schema_hash(model: type[BaseModel] = LLMEnrichment) -> str:
    return hashlib.sha256(json.dumps(strict_json_schema(model), sort_keys=True).encode()).hexdigest()[:16]
