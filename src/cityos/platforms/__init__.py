"""The "3" of 1+3+N+X: IOC, the staff workbench (数字政府一级平台) and the i罗湖 portal."""
