"""The source article of karabakh-kg, byte for byte."""
