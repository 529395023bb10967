//! # spaces-billing (not built yet)
//!
//! Will hold minute-granular metering and rating of Spaces usage with `rust_decimal` money, exactly
//! as `shared/spec/billing.md` says: usage-log parsing and validation, the rating engine, invoices,
//! community GPU grants, and a durable append-only ledger. See issue 4.
