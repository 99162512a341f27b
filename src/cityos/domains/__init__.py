"""The "N" of 1+3+N+X: department and urban-governance applications, one folder per domain."""
