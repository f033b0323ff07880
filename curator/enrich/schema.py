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


def strict_json_schema() -> dict[str, Any]:
    """The schema in the shape `response_format=json_schema, strict=true` accepts."""
    schema = LLMEnrichment.model_json_schema()
    schema["additionalProperties"] = False
    schema["required"] = list(schema["properties"])
    for prop in schema["properties"].values():
        prop.pop("title", None)
    return schema


def schema_hash() -> str:
    return hashlib.sha256(json.dumps(strict_json_schema(), sort_keys=True).encode()).hexdigest()[:16]
