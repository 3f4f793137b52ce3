"""The team's shared work: labelling tracks together (labelling) and where it is stored (storage)."""
