//! Fork names as ethereum/tests spells them, and the revm spec each one runs under.

use revm::primitives::hardfork::SpecId;

/// A hard fork of Ethereum mainnet, Frontier through Cancun.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fork {
    Frontier,
    Homestead,
    Eip150,
    Eip158,
    Byzantium,
    Constantinople,
    ConstantinopleFix,
    Istanbul,
    Berlin,
    London,
    Paris,
    Shanghai,
    Cancun,
}

/// Canonical names, in fork order (the ethereum/tests spelling).
pub const FORK_NAMES: [&str; 13] = [
    "Frontier",
    "Homestead",
    "EIP150",
    "EIP158",
    "Byzantium",
    "Constantinople",
    "ConstantinopleFix",
    "Istanbul",
    "Berlin",
    "London",
    "Paris",
    "Shanghai",
    "Cancun",
];

impl Fork {
    /// Parses the ethereum/tests name, or a common alias (`Merge`, `SpuriousDragon` …).
    pub fn from_name(name: &str) -> Option<Fork> {
        Some(match name {
            "Frontier" => Fork::Frontier,
            "Homestead" => Fork::Homestead,
            "EIP150" | "TangerineWhistle" | "Tangerine" => Fork::Eip150,
            "EIP158" | "SpuriousDragon" => Fork::Eip158,
            "Byzantium" => Fork::Byzantium,
            "Constantinople" => Fork::Constantinople,
            "ConstantinopleFix" | "Petersburg" => Fork::ConstantinopleFix,
            "Istanbul" => Fork::Istanbul,
            "Berlin" => Fork::Berlin,
            "London" => Fork::London,
            "Paris" | "Merge" => Fork::Paris,
            "Shanghai" => Fork::Shanghai,
            "Cancun" => Fork::Cancun,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        FORK_NAMES[self as usize]
    }

    /// The revm spec. revm has no Constantinople (EIP-1283 was withdrawn before
    /// mainnet): it runs as Petersburg plus EIP-1283's SSTORE (constantinople.rs).
    pub fn spec_id(self) -> SpecId {
        match self {
            Fork::Frontier => SpecId::FRONTIER,
            Fork::Homestead => SpecId::HOMESTEAD,
            Fork::Eip150 => SpecId::TANGERINE,
            Fork::Eip158 => SpecId::SPURIOUS_DRAGON,
            Fork::Byzantium => SpecId::BYZANTIUM,
            Fork::Constantinople | Fork::ConstantinopleFix => SpecId::PETERSBURG,
            Fork::Istanbul => SpecId::ISTANBUL,
            Fork::Berlin => SpecId::BERLIN,
            Fork::London => SpecId::LONDON,
            Fork::Paris => SpecId::MERGE,
            Fork::Shanghai => SpecId::SHANGHAI,
            Fork::Cancun => SpecId::CANCUN,
        }
    }

    pub fn has_base_fee(self) -> bool {
        self >= Fork::London
    }

    pub fn is_post_merge(self) -> bool {
        self >= Fork::Paris
    }

    pub fn has_blobs(self) -> bool {
        self >= Fork::Cancun
    }

    /// Receipts carry a status code (EIP-658) instead of an intermediate state root.
    pub fn has_receipt_status(self) -> bool {
        self >= Fork::Byzantium
    }
}
