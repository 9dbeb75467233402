//! Seeded engine bugs that measure what the test suite catches (docs/detection-power.md).
//!
//! Each `Fault` is a real bug class of Block-STM on the EVM, hooked where that bug
//! would live. Only a build with the cargo feature `faults` can switch one on:
//! `BLOCKSTM_FAULT=<name>`, read once per process. Without the feature `active` is a
//! constant `false`, so every hook compiles to nothing and the shipped wheel carries
//! none of this.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Validation passes every read set: stale reads commit.
    SkipValidation,
    /// Reads look through ESTIMATE markers to the entry below (or the pre-state).
    IgnoreEstimate,
    /// A validation is checked against the previous incarnation: the failed
    /// validation of a re-executed transaction is dropped as stale.
    ValidateWrongIncarnation,
    /// The previous transaction's changes land again after the current one's.
    CommitOutOfOrder,
    /// A revm-executed transaction publishes no `Delta` for its coinbase fee.
    LoseBeneficiaryDelta,
    /// An aborted incarnation's deltas stay readable instead of becoming ESTIMATEs.
    EarlyLazyEvaluation,
    /// A fee paid eagerly is also deferred as a lazy fee: the coinbase is paid twice.
    DoubleLazyDelta,
    /// Settling a lazy transfer skips the sender's nonce check.
    SkipLazyNonceCheck,
    /// A storage wipe hides the block's slot writes but not the pre-state's slots.
    DestroyedStorageReadable,
    /// Storage reads served by the pre-state are not revalidated.
    StaleBaseStorage,
    /// The wake-ups of a finished transaction's dependents are counted as pending
    /// tasks, then lost: the scheduler never finishes and the block hangs.
    DropWakeUp,
    /// A lazy transfer's receipt takes the cumulative gas before its own gas.
    CumulativeGasOrder,
}

#[cfg(not(feature = "faults"))]
#[inline(always)]
pub const fn active(_: Fault) -> bool {
    false
}

#[cfg(feature = "faults")]
pub use seeded::{active, check_selection, NAMES};

#[cfg(feature = "faults")]
mod seeded {
    use super::Fault::{self, *};
    use crate::errors::EngineError;
    use std::sync::OnceLock;

    const FAULTS: [(Fault, &str); 12] = [
        (SkipValidation, "skip-validation"),
        (IgnoreEstimate, "ignore-estimate"),
        (ValidateWrongIncarnation, "validate-wrong-incarnation"),
        (CommitOutOfOrder, "commit-out-of-order"),
        (LoseBeneficiaryDelta, "lose-beneficiary-delta"),
        (EarlyLazyEvaluation, "early-lazy-evaluation"),
        (DoubleLazyDelta, "double-lazy-delta"),
        (SkipLazyNonceCheck, "skip-lazy-nonce-check"),
        (DestroyedStorageReadable, "destroyed-storage-readable"),
        (StaleBaseStorage, "stale-base-storage"),
        (DropWakeUp, "drop-wake-up"),
        (CumulativeGasOrder, "cumulative-gas-order"),
    ];

    /// The fault names, in the order of docs/detection-power.md.
    pub const NAMES: [&str; 12] = {
        let mut names = [""; 12];
        let mut i = 0;
        while i < FAULTS.len() {
            names[i] = FAULTS[i].1;
            i += 1;
        }
        names
    };

    fn parse(value: Option<&str>) -> Result<Option<Fault>, String> {
        match value {
            None | Some("") => Ok(None),
            Some(name) => FAULTS.iter().find(|(_, n)| *n == name).map(|(f, _)| Some(*f)).ok_or_else(|| {
                format!("BLOCKSTM_FAULT={name:?} names no fault of this build; known: {}", NAMES.join(", "))
            }),
        }
    }

    fn selection() -> &'static Result<Option<Fault>, String> {
        static SELECTED: OnceLock<Result<Option<Fault>, String>> = OnceLock::new();
        SELECTED.get_or_init(|| parse(std::env::var("BLOCKSTM_FAULT").ok().as_deref()))
    }

    pub fn active(fault: Fault) -> bool {
        matches!(selection(), Ok(Some(selected)) if *selected == fault)
    }

    /// An unknown BLOCKSTM_FAULT fails every engine call rather than silently
    /// measuring the unfaulted engine.
    pub fn check_selection() -> Result<(), EngineError> {
        selection().as_ref().map(|_| ()).map_err(|message| EngineError::Internal(message.clone()))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_name_parses_to_its_fault_and_unknown_names_are_errors() {
            for (fault, name) in FAULTS {
                assert_eq!(parse(Some(name)), Ok(Some(fault)));
            }
            assert_eq!(parse(None), Ok(None));
            assert_eq!(parse(Some("")), Ok(None));
            let error = parse(Some("skip-validaton")).unwrap_err();
            assert!(error.contains("skip-validaton") && error.contains("skip-validation"), "{error}");
        }
    }
}
