"""The "1" of 1+3+N+X: the digital foundation (数字底座)."""
