"""How well does each method fit a signal?"""
