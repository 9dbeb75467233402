//! The revm environments (configuration, block) a fixture's header and fork ask for.

use crate::fixture::BlockHeader;
use crate::fork::Fork;
use alloy_primitives::B256;
use revm::context::{block::BlockEnv, cfg::CfgEnv};

pub fn cfg_env(fork: Fork, header: &BlockHeader) -> CfgEnv {
    let mut cfg = CfgEnv::default();
    cfg.set_spec_and_mainnet_gas_params(fork.spec_id());
    if fork == Fork::Constantinople {
        cfg.gas_params = crate::constantinople::gas_params();
    }
    cfg.chain_id = header.chain_id;
    if let Some(blobs) = fork.blob_params() {
        cfg.set_max_blobs_per_tx(blobs.per_tx);
        cfg.blob_base_fee_update_fraction = Some(blobs.update_fraction);
    }
    cfg
}

pub fn block_env(fork: Fork, header: &BlockHeader, cfg: &CfgEnv) -> BlockEnv {
    let mut block = BlockEnv {
        number: header.number,
        beneficiary: header.coinbase,
        timestamp: header.timestamp,
        gas_limit: header.gas_limit,
        basefee: header.base_fee,
        difficulty: header.difficulty,
        prevrandao: fork.is_post_merge().then(|| header.random.unwrap_or(B256::ZERO)),
        ..BlockEnv::default()
    };
    if fork.has_blobs() {
        block.set_blob_excess_gas_and_price(
            header.excess_blob_gas.unwrap_or(0),
            cfg.blob_base_fee_update_fraction(),
        );
    } else {
        block.blob_excess_gas_and_price = None;
    }
    block
}

/// Blob gas per blob.
pub const GAS_PER_BLOB: u64 = 131_072;
