"""Data package: the person-name tagger's model (CC BY-SA 4.0, see ATTRIBUTION.md)."""
