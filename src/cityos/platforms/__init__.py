"""The three core platforms ("3"): the IOC, the staff workbench and the i罗湖 portal."""
