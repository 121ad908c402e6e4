//! `#[profile_concurrency]`: the attribute that instruments a function for conc-profiler. Parsing of the options
//! lives in `args`, code generation in `expand`; this file only wires them to the compiler.
//!
//! Options (all optional, each at most once):
//!
//! - `name = "…"` — the name in reports (default: `module::path::function`).
//! - `target = "…"` — the module path part of the default name (default: `module_path!()`), like
//!   `tracing::instrument`'s `target`.
//! - `expect = "cpu" | "io"` — the intended kind of work; a measured contradiction is returned by
//!   `conc_profiler::check_expectations()`.
//! - `crate = "path"` — where the runtime crate is, when it is renamed or re-exported (default `::conc_profiler`).
//!
//! Applies to free functions, methods, trait default methods, generic functions, `async fn` (including `-> !` and
//! bodies relying on return coercion) and functions returning a future: `impl Future` (also `+ Unpin` and
//! `+ '_` reborrowing a `&mut`), `BoxFuture`, `LocalBoxFuture`, `Pin<Box<dyn Future…>>` — so `#[async_trait]`
//! methods are measured per poll too. Every shape that compiles without the attribute compiles with it
//! (`tests/pass`). Wrong use (a `const fn`, a non-function item, a trait method without a body, unknown or
//! duplicate options) is a compile error pointing at the offending tokens, and the item is still emitted
//! unchanged beside it so callers do not get follow-up errors.

#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod args;
mod expand;

/// Instruments a function for conc-profiler. See the crate documentation for the options.
#[proc_macro_attribute]
pub fn profile_concurrency(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}
