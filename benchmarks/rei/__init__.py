"""Which Rank-Expanding Initialization design, and what does it change?"""
