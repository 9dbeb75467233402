//! Senders of signed transactions: the signing hash of each transaction type (alloy's
//! encodings), the fork's signature rules, and secp256k1 recovery.

use crate::fixture::Transaction;
use crate::fork::Fork;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEip4844, TxEip7702, TxLegacy};
use alloy_primitives::{uint, Address, U256};

/// A signature as a transaction carries it: `v` is the legacy `v` (27/28, or EIP-155's
/// `chain_id * 2 + 35/36`) or a typed transaction's y-parity.
#[derive(Clone, Copy, Debug)]
pub struct Signature {
    pub v: U256,
    pub r: U256,
    pub s: U256,
}

/// The order of secp256k1's group.
const SECP256K1_N: U256 = uint!(0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256);

/// A legacy transaction's chain id, from its `v`: none for 27/28 (before EIP-155).
pub fn legacy_chain_id(v: U256) -> Option<u64> {
    let v = u64::try_from(v).ok()?;
    (v >= 35).then(|| (v - 35) / 2)
}

/// The sender of `tx`, or why its signature is invalid under `fork`'s rules.
pub fn recover_sender(tx: &Transaction, sig: &Signature, fork: Fork) -> Result<Address, String> {
    let env = &tx.env;
    let parity = if tx.tx_type == 0 {
        match u64::try_from(sig.v) {
            Ok(27 | 28) => sig.v == U256::from(28),
            // EIP-155 replay protection arrived with Spurious Dragon.
            Ok(v) if v >= 35 && fork >= Fork::Eip158 => (v - 35) % 2 == 1,
            _ => return Err(format!("v = {} is not a valid legacy v for {}", sig.v, fork.name())),
        }
    } else {
        match u64::try_from(sig.v) {
            Ok(0) => false,
            Ok(1) => true,
            _ => return Err(format!("y-parity {} is neither 0 nor 1", sig.v)),
        }
    };
    if sig.r.is_zero() || sig.r >= SECP256K1_N || sig.s.is_zero() || sig.s >= SECP256K1_N {
        return Err("r or s outside 1..secp256k1n".into());
    }
    // EIP-2 (Homestead): only the lower half of s, so a signature has one form.
    if fork >= Fork::Homestead && sig.s > SECP256K1_N >> 1 {
        return Err("s above secp256k1n/2 (EIP-2)".into());
    }
    let access_list = || env.access_list.clone();
    let prehash = match tx.tx_type {
        0 => TxLegacy {
            chain_id: env.chain_id,
            nonce: env.nonce,
            gas_price: env.gas_price,
            gas_limit: env.gas_limit,
            to: env.kind,
            value: env.value,
            input: env.data.clone(),
        }
        .signature_hash(),
        1 => TxEip2930 {
            chain_id: env.chain_id.unwrap_or_default(),
            nonce: env.nonce,
            gas_price: env.gas_price,
            gas_limit: env.gas_limit,
            to: env.kind,
            value: env.value,
            access_list: access_list(),
            input: env.data.clone(),
        }
        .signature_hash(),
        2 => TxEip1559 {
            chain_id: env.chain_id.unwrap_or_default(),
            nonce: env.nonce,
            gas_limit: env.gas_limit,
            max_fee_per_gas: env.gas_price,
            max_priority_fee_per_gas: env.gas_priority_fee.unwrap_or_default(),
            to: env.kind,
            value: env.value,
            access_list: access_list(),
            input: env.data.clone(),
        }
        .signature_hash(),
        3 => TxEip4844 {
            chain_id: env.chain_id.unwrap_or_default(),
            nonce: env.nonce,
            gas_limit: env.gas_limit,
            max_fee_per_gas: env.gas_price,
            max_priority_fee_per_gas: env.gas_priority_fee.unwrap_or_default(),
            // A blob transaction that creates is rejected before its sender matters.
            to: env.kind.to().copied().unwrap_or_default(),
            value: env.value,
            access_list: access_list(),
            blob_versioned_hashes: env.blob_hashes.clone(),
            max_fee_per_blob_gas: env.max_fee_per_blob_gas,
            input: env.data.clone(),
        }
        .signature_hash(),
        4 => TxEip7702 {
            chain_id: env.chain_id.unwrap_or_default(),
            nonce: env.nonce,
            gas_limit: env.gas_limit,
            max_fee_per_gas: env.gas_price,
            max_priority_fee_per_gas: env.gas_priority_fee.unwrap_or_default(),
            // A set-code transaction that creates is rejected before its sender matters.
            to: env.kind.to().copied().unwrap_or_default(),
            value: env.value,
            access_list: access_list(),
            authorization_list: env.authorization_list.iter().filter_map(|a| a.as_ref().left().cloned()).collect(),
            input: env.data.clone(),
        }
        .signature_hash(),
        other => return Err(format!("no signing rule for transaction type {other}")),
    };
    alloy_primitives::Signature::new(sig.r, sig.s, parity)
        .recover_address_from_prehash(&prehash)
        .map_err(|e| format!("no sender recovers from the signature: {e}"))
}
