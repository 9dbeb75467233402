//! Constantinople's SSTORE: EIP-1283 net gas metering, withdrawn before mainnet and
//! absent from revm, whose Constantinople is Petersburg. ethereum/tests still fills
//! Constantinople with it, so the engine adds it through revm's extension points: a
//! gas table (EIP-1283 prices) and the SSTORE opcode with net metering switched on.
//! EIP-1283 is EIP-2200 (Istanbul) with a 200-gas base and no stipend sentry.

use revm::context_interface::cfg::gas_params::{GasId, GasParams};
use revm::context_interface::context::{SStoreResult, StateLoad};
use revm::interpreter::instructions::host::sstore_with_gas_accounting;
use revm::interpreter::interpreter_types::InterpreterTypes;
use revm::interpreter::{Host, InstructionContext, InstructionExecResult, InstructionResult};
use revm::primitives::{hardfork::SpecId, Address};

/// SLOAD_GAS of EIP-1283: the price of a no-op or dirty-slot SSTORE.
const SLOAD_GAS: u64 = 200;
const SSTORE_SET_GAS: u64 = 20_000;
const SSTORE_RESET_GAS: u64 = 5_000;

pub const SSTORE_OPCODE: u8 = 0x55;

/// Petersburg's gas table with EIP-1283's SSTORE prices and refunds.
pub fn gas_params() -> GasParams {
    let mut params = GasParams::new_spec(SpecId::PETERSBURG);
    params.override_gas([
        (GasId::sstore_static(), SLOAD_GAS),
        (GasId::sstore_set_without_load_cost(), SSTORE_SET_GAS - SLOAD_GAS),
        (GasId::sstore_reset_without_cold_load_cost(), SSTORE_RESET_GAS - SLOAD_GAS),
        (GasId::sstore_set_refund(), SSTORE_SET_GAS - SLOAD_GAS),
        (GasId::sstore_reset_refund(), SSTORE_RESET_GAS - SLOAD_GAS),
    ]);
    params
}

/// Whether a configuration asks for EIP-1283 (Petersburg's spec with its SSTORE prices).
pub fn is_eip1283(cfg: &revm::context::cfg::CfgEnv) -> bool {
    cfg.spec == SpecId::PETERSBURG && cfg.gas_params.sstore_static_gas() == SLOAD_GAS
}

/// SSTORE with net gas metering (the `is_istanbul` rules of revm's gas table, which
/// are EIP-1283's once the prices above are in place).
pub fn sstore<IT: InterpreterTypes, H: Host + ?Sized>(context: InstructionContext<'_, H, IT>) -> InstructionExecResult {
    sstore_with_gas_accounting(context, net_metering)
}

fn net_metering<IT: InterpreterTypes, H: Host + ?Sized>(
    context: &mut InstructionContext<'_, H, IT>,
    _target: Address,
    state_load: &StateLoad<SStoreResult>,
) -> InstructionExecResult {
    let cost = context.host.gas_params().sstore_dynamic_gas(true, &state_load.data, state_load.is_cold);
    if !context.interpreter.gas.record_regular_cost(cost) {
        return Err(InstructionResult::OutOfGas);
    }
    let refund = context.host.gas_params().sstore_refund(true, &state_load.data);
    context.interpreter.gas.record_refund(refund);
    Ok(())
}
