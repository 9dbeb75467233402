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

/// The receipts trie built as receipts arrive in block order. Its keys, RLP-encoded
/// indices, sort as 1, 2, …, 127, 0, 128, 129, …: only receipt 0 waits (for 127, or
/// the end), so the trie's leaves can be added as execution produces them.
pub struct ReceiptsTrie {
    fork: Fork,
    builder: alloy_trie::HashBuilder,
    next: usize,
    first: Option<Vec<u8>>,
}

impl ReceiptsTrie {
    pub fn new(fork: Fork) -> ReceiptsTrie {
        ReceiptsTrie { fork, builder: Default::default(), next: 0, first: None }
    }

    fn add(&mut self, index: usize, encoded: &[u8]) {
        self.builder.add_leaf(alloy_trie::Nibbles::unpack(alloy_rlp::encode(index)), encoded);
    }

    /// Adds the next receipt of the block.
    pub fn push(&mut self, receipt: &TxReceipt) {
        use alloy_eips::eip2718::Encodable2718;
        let encoded = receipt.envelope(self.fork).encoded_2718();
        match self.next {
            0 => self.first = Some(encoded),
            index => {
                self.add(index, &encoded);
                if index == 127 {
                    self.add_first();
                }
            }
        }
        self.next += 1;
    }

    fn add_first(&mut self) {
        if let Some(first) = self.first.take() {
            self.add(0, &first);
        }
    }

    pub fn root(mut self) -> B256 {
        self.add_first();
        self.builder.root()
    }
}

/// A receipts root (and every receipt's bloom) computed on the engine's pool while a
/// sequential executor produces the receipts: the pool is idle then, and the root is
/// ready, or nearly, when the last transaction is done.
pub struct ReceiptsRootAlongside {
    receipts: std::sync::mpsc::Sender<Vec<TxReceipt>>,
    batch: Vec<TxReceipt>,
    result: std::sync::mpsc::Receiver<(B256, Vec<Bloom>)>,
}

impl ReceiptsRootAlongside {
    /// Blocks with fewer receipts than this are cheaper to finish at the end.
    pub const FROM_RECEIPTS: usize = crate::trie::PARALLEL_FROM_LEAVES;
    /// Receipts handed over together: waking the builder for each one costs the
    /// executing thread a system call per transaction.
    const BATCH: usize = 1024;

    pub fn start(fork: Fork) -> ReceiptsRootAlongside {
        let (receipts, incoming) = std::sync::mpsc::channel::<Vec<TxReceipt>>();
        let (done, result) = std::sync::mpsc::channel();
        crate::parallel::pool::spawn(move || {
            let mut trie = ReceiptsTrie::new(fork);
            let mut blooms = Vec::new();
            for receipt in incoming.iter().flatten() {
                blooms.push(receipt.bloom());
                trie.push(&receipt);
            }
            // The executor may have stopped on an invalid transaction: nobody waits then.
            let _ = done.send((trie.root(), blooms));
        });
        ReceiptsRootAlongside { receipts, batch: Vec::with_capacity(Self::BATCH), result }
    }

    pub fn push(&mut self, receipt: &TxReceipt) {
        self.batch.push(receipt.clone());
        if self.batch.len() == Self::BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(Self::BATCH));
        // The builder only ends when the sender is dropped: the send cannot fail.
        let _ = self.receipts.send(batch);
    }

    /// The root, once the builder has the last receipt; the blooms go to `receipts`.
    pub fn finish(mut self, receipts: &[TxReceipt]) -> Option<B256> {
        self.flush();
        drop(self.receipts);
        let (root, blooms) = self.result.recv().ok()?;
        if blooms.len() != receipts.len() {
            return None;
        }
        for (receipt, bloom) in receipts.iter().zip(blooms) {
            let _ = receipt.logs_bloom.set(bloom);
        }
        Some(root)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(i: usize) -> TxReceipt {
        let log = Log::new_unchecked(Address::with_last_byte(i as u8), vec![B256::with_last_byte(7)], vec![i as u8].into());
        TxReceipt::new((i % 4) as u8, i % 3 != 0, 21_000 + i as u64, 21_000 * (i as u64 + 1), vec![log], None)
    }

    #[test]
    fn receipts_trie_in_block_order_gives_the_root() {
        for n in [0, 1, 2, 126, 127, 128, 129, 255, 256, 300, 5_000] {
            let receipts: Vec<TxReceipt> = (0..n).map(receipt).collect();
            let mut trie = ReceiptsTrie::new(Fork::Cancun);
            receipts.iter().for_each(|r| trie.push(r));
            assert_eq!(trie.root(), receipts_root(&receipts, Fork::Cancun), "{n} receipts");
        }
    }

    #[test]
    fn receipts_root_alongside_gives_the_root_and_the_blooms() {
        let receipts: Vec<TxReceipt> = (0..3_000).map(receipt).collect();
        let mut alongside = ReceiptsRootAlongside::start(Fork::Cancun);
        receipts.iter().for_each(|r| alongside.push(r));
        let fresh: Vec<TxReceipt> = (0..3_000).map(receipt).collect();
        assert_eq!(alongside.finish(&fresh), Some(receipts_root(&receipts, Fork::Cancun)));
        assert!(fresh.iter().zip(&receipts).all(|(a, b)| a.logs_bloom.get() == Some(&b.bloom())));
    }
}
