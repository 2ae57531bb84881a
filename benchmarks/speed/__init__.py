"""How fast does a fit run?"""
