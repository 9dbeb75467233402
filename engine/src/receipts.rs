//! Receipts, blooms and the receipts root, encoded as each fork requires (alloy-consensus).

use crate::fork::Fork;
use alloy_consensus::{proofs::calculate_receipt_root, Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom};
use alloy_primitives::{keccak256, logs_bloom, Address, Bloom, Log, B256};

/// The receipt of one transaction.
#[derive(Clone, Debug)]
pub struct TxReceipt {
    pub tx_type: u8,
    pub success: bool,
    pub gas_used: u64,
    pub cumulative_gas_used: u64,
    pub logs: Vec<Log>,
    pub contract_address: Option<Address>,
    /// Pre-Byzantium receipts carry the state root after the transaction.
    pub post_state_root: Option<B256>,
    /// The logs' bloom, computed once on first use (keccak256 per address and topic:
    /// `BlockOutput::new` fills every receipt's, in parallel, outside the engine timer;
    /// the block bloom, the receipts root and Python then share it).
    logs_bloom: std::sync::OnceLock<Bloom>,
}

/// The bloom is a function of the logs: it takes no part in equality.
impl PartialEq for TxReceipt {
    fn eq(&self, other: &TxReceipt) -> bool {
        self.tx_type == other.tx_type
            && self.success == other.success
            && self.gas_used == other.gas_used
            && self.cumulative_gas_used == other.cumulative_gas_used
            && self.logs == other.logs
            && self.contract_address == other.contract_address
            && self.post_state_root == other.post_state_root
    }
}

impl Eq for TxReceipt {}

impl TxReceipt {
    pub fn new(
        tx_type: u8,
        success: bool,
        gas_used: u64,
        cumulative_gas_used: u64,
        logs: Vec<Log>,
        contract_address: Option<Address>,
    ) -> TxReceipt {
        TxReceipt {
            tx_type,
            success,
            gas_used,
            cumulative_gas_used,
            logs,
            contract_address,
            post_state_root: None,
            logs_bloom: std::sync::OnceLock::new(),
        }
    }

    pub fn bloom(&self) -> Bloom {
        *self.logs_bloom.get_or_init(|| logs_bloom(self.logs.iter()))
    }

    fn envelope(&self, fork: Fork) -> ReceiptEnvelope {
        let status = match (fork.has_receipt_status(), self.post_state_root) {
            (false, Some(root)) => Eip658Value::PostState(root),
            _ => Eip658Value::Eip658(self.success),
        };
        let receipt = Receipt {
            status,
            cumulative_gas_used: self.cumulative_gas_used,
            logs: self.logs.clone(),
        };
        let with_bloom = ReceiptWithBloom { receipt, logs_bloom: self.bloom() };
        match self.tx_type {
            1 => ReceiptEnvelope::Eip2930(with_bloom),
            2 => ReceiptEnvelope::Eip1559(with_bloom),
            3 => ReceiptEnvelope::Eip4844(with_bloom),
            4 => ReceiptEnvelope::Eip7702(with_bloom),
            _ => ReceiptEnvelope::Legacy(with_bloom),
        }
    }
}

/// The receipts trie's root: keys are RLP-encoded indices, values the EIP-2718
/// encodings. A big block's receipts are encoded and hashed in parallel (trie.rs).
pub fn receipts_root(receipts: &[TxReceipt], fork: Fork) -> B256 {
    if receipts.len() < crate::trie::PARALLEL_FROM_LEAVES {
        let envelopes: Vec<ReceiptEnvelope> = receipts.iter().map(|r| r.envelope(fork)).collect();
        return calculate_receipt_root(&envelopes);
    }
    use alloy_eips::eip2718::Encodable2718;
    use rayon::prelude::*;
    crate::parallel::pool::install(|| {
        let leaves = receipts
            .par_iter()
            .enumerate()
            .map(|(index, r)| (alloy_trie::Nibbles::unpack(alloy_rlp::encode(index)), r.envelope(fork).encoded_2718()))
            .collect();
        crate::trie::nibble_trie_root(leaves)
    })
}

/// The block's bloom; every receipt's own bloom is computed on the way (in parallel
/// for a big block).
pub fn block_bloom(receipts: &[TxReceipt]) -> Bloom {
    if receipts.len() >= crate::trie::PARALLEL_FROM_LEAVES {
        use rayon::prelude::*;
        crate::parallel::pool::install(|| receipts.par_iter().with_min_len(256).for_each(|r| {
            r.bloom();
        }));
    }
    let mut bloom = Bloom::ZERO;
    for r in receipts {
        bloom.accrue_bloom(&r.bloom());
    }
    bloom
}

/// keccak256 of the RLP list of every log of the block (ethereum/tests' `logs`).
pub fn logs_hash(receipts: &[TxReceipt]) -> B256 {
    let logs: Vec<&Log> = receipts.iter().flat_map(|r| r.logs.iter()).collect();
    let mut out = Vec::new();
    alloy_rlp::encode_list::<&Log, Log>(&logs, &mut out);
    keccak256(&out)
}
