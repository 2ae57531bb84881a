"""Where is the rank lost, and how fast and how large can the layer-wise NTK be computed?"""
