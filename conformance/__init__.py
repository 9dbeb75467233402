"""Conformance of the blockstm engine: ethereum/tests GeneralStateTests and real
mainnet blocks, as pytest suites (docs/conformance.md)."""
