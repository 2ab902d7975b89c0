"""The data-quality function: rules over the register, a queue of findings with owners."""

from shareguard.quality.rules import RULES, Finding, Register, run_rules

__all__ = ["RULES", "Finding", "Register", "run_rules"]
