"""Superseded protocols, kept as measured."""
