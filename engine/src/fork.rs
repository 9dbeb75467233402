//! Fork names as ethereum/tests spells them, and the revm spec each one runs under.

use revm::primitives::hardfork::SpecId;

/// A hard fork of Ethereum mainnet, Frontier through Osaka and its blob-parameter forks.
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
    Prague,
    Osaka,
    /// Osaka with more blobs (blob-parameter-only forks).
    Bpo1,
    Bpo2,
}

/// Canonical names, in fork order (the ethereum/tests spelling).
pub const FORK_NAMES: [&str; 17] = [
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
    "Prague",
    "Osaka",
    "BPO1",
    "BPO2",
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
            "Prague" | "Pectra" => Fork::Prague,
            "Osaka" | "Fusaka" => Fork::Osaka,
            "BPO1" => Fork::Bpo1,
            "BPO2" => Fork::Bpo2,
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
            Fork::Prague => SpecId::PRAGUE,
            // The blob-parameter forks change no EVM rule: Osaka with other blob limits.
            Fork::Osaka | Fork::Bpo1 | Fork::Bpo2 => SpecId::OSAKA,
        }
    }

    /// Blob limits and pricing (EIP-4844, EIP-7691, EIP-7594, the BPO forks): blobs a
    /// block may carry, blobs a transaction may carry, the base fee's update fraction.
    pub fn blob_params(self) -> Option<BlobParams> {
        let (per_block, per_tx, update_fraction) = match self {
            f if f < Fork::Cancun => return None,
            Fork::Cancun => (6, 6, 3_338_477),
            Fork::Prague => (9, 9, 5_007_716),
            Fork::Osaka => (9, 6, 5_007_716),
            Fork::Bpo1 => (15, 6, 8_346_193),
            _ => (21, 6, 11_684_671),
        };
        Some(BlobParams { per_block, per_tx, update_fraction })
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

    /// EIP-7702 set-code transactions, EIP-2935 history storage, EIP-7685 requests.
    pub fn is_prague(self) -> bool {
        self >= Fork::Prague
    }

    /// Receipts carry a status code (EIP-658) instead of an intermediate state root.
    pub fn has_receipt_status(self) -> bool {
        self >= Fork::Byzantium
    }
}

/// A fork's blob limits (counts of blobs of `GAS_PER_BLOB` each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobParams {
    pub per_block: u64,
    pub per_tx: u64,
    pub update_fraction: u64,
}
