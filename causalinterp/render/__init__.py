"""Renderers: each turns stage results into one output format (JSON, Markdown, HTML, plots)."""
