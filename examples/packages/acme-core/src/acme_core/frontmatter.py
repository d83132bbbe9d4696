"""Split a markdown file into its YAML header and body."""

from __future__ import annotations

import yaml


def parse_frontmatter(text: str) -> tuple[dict[str, object], str]:
    lines = text.splitlines()
    if not lines or lines[0] != "---":
        return {}, text
    for index in range(1, len(lines)):
        if lines[index] == "---":
            header_text = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            try:
                header = yaml.safe_load(header_text)
            except yaml.YAMLError:
                return {}, body
            if not isinstance(header, dict):
                return {}, body
            return header, body
    return {}, text
