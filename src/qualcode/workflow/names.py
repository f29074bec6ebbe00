"""Pseudonymisation where it meets the project (registry in the store, metadata names)."""

from __future__ import annotations

from collections.abc import Callable

from qualcode.project import Project


def project_pseudonymiser(project: Project) -> Callable[[str], str]:
    """Text filter for everything that leaves the project."""
    mapper = text_mapper(project)
    return lambda text: mapper(text)[0]


def text_mapper(project: Project) -> Callable[[str], tuple[str, Callable[[int], int]]]:
    """Pseudonymise a text and map offsets from the original to the new text."""

    def identity(text: str) -> tuple[str, Callable[[int], int]]:
        return text, lambda i: i

    return identity
