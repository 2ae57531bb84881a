"""Which method is the better prior for an inverse problem?"""
