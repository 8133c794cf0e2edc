"""The intent model and its cross-field rules."""
