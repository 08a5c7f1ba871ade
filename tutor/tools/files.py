"""File and web tools from crewai-tools. Web tools turn on only when the user configured their key."""

from __future__ import annotations

from typing import Any


def _file_read() -> Any:
    from crewai_tools import FileReadTool

    return FileReadTool()


def _directory_read() -> Any:
    from crewai_tools import DirectoryReadTool

    return DirectoryReadTool()


def _web_search() -> Any:
    from crewai_tools import SerperDevTool

    return SerperDevTool()


def _scrape() -> Any:
    from crewai_tools import ScrapeWebsiteTool

    return ScrapeWebsiteTool()


def register(registry: Any) -> None:
    registry.register("read_file", _file_read, summary="Read a local file (crewai-tools FileReadTool).")
    registry.register("list_directory", _directory_read, summary="List a local directory (crewai-tools DirectoryReadTool).")
    registry.register(
        "web_search", _web_search, summary="Search the web with Serper (needs SERPER_API_KEY).",
        requires_env=("SERPER_API_KEY",),
    )
    registry.register(
        "scrape_website", _scrape, summary="Read a web page (needs SERPER_API_KEY, as web access is opt-in).",
        requires_env=("SERPER_API_KEY",),
    )
