"""Pseudonymisation where it meets the project (registry in the store, metadata names)."""

from __future__ import annotations

from collections.abc import Callable

from qualcode.project import Project


def project_pseudonymiser(project: Project) -> Callable[[str], str]:
    """Text filter for everything that leaves the project."""
    return lambda text: text
