"""Usage metering: per-tenant daily usage (rollup), read models, noisy-neighbour detection."""
