"""The review board (`curator review`): a local, token-gated web page for shaping the open draft."""

from curator.review.board import make_app, serve

__all__ = ["make_app", "serve"]
