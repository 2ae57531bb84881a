"""What do training and the optimiser do to rank and fidelity?"""
