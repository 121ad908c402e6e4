//! The Rust rules, one file each, and the interface they implement ([`RustRule`] and one trait per hook).
//!
//! # How the analysis runs
//! [`crate::rust::analyze`] parses a file once with `syn` and runs one visit ([`Checker`]) over it. The
//! visitor maintains the shared state every rule needs and, at each node, calls the hooks of the enabled
//! rules that implement that node's hook trait (the dispatch table is built from the traits each rule
//! implements, found at compile time by [`register_rust_rule!`](crate::register_rust_rule), so a disabled rule
//! or a hook a rule does not implement costs nothing, and a hook a rule implements always runs).
//!
//! Hooks fire in source order, pre-order (an outer call before the calls in its receiver and arguments).
//! Scopes nest as module (id 0) → a function's parameters → its body block → inner blocks, arms and loop
//! bodies; leaving a body fires, in order: `on_scope_exit(body block)`, `on_fn_exit`, `on_scope_exit(params)`.
//!
//! | hook trait | when | what the rule gets |
//! |------|------|--------------------|
//! | [`OnCall`] | every call `f(..)` | [`CallSite`]: the callee resolved through `use` items (`use std::thread::sleep as nap; nap(d)` → `std::thread::sleep`), whether the result is `.await`ed |
//! | [`OnMethodCall`] | every `recv.m(..)` | [`MethodCallSite`]: the method name, the receiver's [`Ty`] (e.g. `std::fs::File` for `File::open(p)?.read_to_string(..)`), `awaited` |
//! | [`OnExpr`] | every expression, before its children | the `syn::Expr` |
//! | [`OnFn`] / [`OnFnExit`] | entering / leaving a body: `fn`, method, closure, async block | [`FnBody`] (signature, attributes, the whole body to walk for function-level analyses) |
//! | [`OnLocal`] | after a `let` is bound | the `syn::Local`; its bindings are in the semantic model with their [`scope`](crate::rust::semantic::Binding::scope) |
//! | [`OnAwait`] | after the operand of an `.await` is visited (the suspension point) | the `syn::ExprAwait` |
//! | [`OnScopeExit`] | leaving a block, arm or loop body; its bindings die | the scope id |
//! | [`OnItem`] | every item, at any depth | the `syn::Item` |
//! | [`OnFileEnd`] | once, after the visit | — |
//! | [`link`](RustRule::link) | once per crate, after all of its files (not a hook of the visit) | the [`CrateGraph`] of the crate's facts; report through [`LinkContext`] |
//!
//! Every hook gets `&mut Self::FileState`: the rule's own per-file state ([`RustRule::FileState`], made by
//! [`RustRule::start_file`] for each file), for rules that accumulate across hooks (guards alive across
//! `.await`, lock orders, what was already reported) and report at [`OnScopeExit`], [`OnFnExit`] or
//! [`OnFileEnd`]. A rule without state says `type FileState = ();`.
//!
//! The [`Checker`] passed to every hook gives:
//! - [`semantic()`](Checker::semantic): path resolution ([`resolve_path`](crate::rust::semantic::SemanticModel::resolve_path),
//!   [`resolve_callee`](crate::rust::semantic::SemanticModel::resolve_callee)), locals
//!   ([`local`](crate::rust::semantic::SemanticModel::local)), types
//!   ([`type_of`](crate::rust::semantic::SemanticModel::type_of)), the module path;
//! - [`context()`](Checker::context): the frame stack — [`async_frame`](crate::rust::context::ContextStack::async_frame)
//!   says whether the code runs on the executor (async fn/block/closure, not inside `spawn_blocking`,
//!   `thread::spawn`, rayon, or a nested non-async `fn`), [`flavor`](crate::rust::context::ContextStack::flavor)
//!   the runtime flavour when known;
//! - [`settings()`](Checker::settings) (thresholds in [`RustSettings`](crate::settings::RustSettings));
//! - [`report`](Checker::report) / [`report_on_executor`](Checker::report_on_executor) (the latter adds the
//!   note pointing at the enclosing async fn or block, and the Clippy-equivalent note).
//!
//! # Findings across functions and files
//! A rule whose finding needs more than the function it is in records facts during the visit
//! ([`Checker::facts`]: blocking calls and CPU-heavy evidence in sync functions, lock orders, findings deferred
//! until callees are known) and implements [`link`](RustRule::link): the engine runs it once per crate after
//! all of the crate's files, with the crate's [`CrateGraph`] (calls resolved, blocking / CPU-heavy summaries
//! propagated), and the rule builds its findings and their messages there. The blocking family shares its
//! link step (`blocking_chain`); the note helpers for chains and for places in other files are in
//! `call_chain`. Examples: [`lock_order_inversion`] (CA404), [`cpu_heavy_in_async`] (CA201).
//!
//! Code inside macro invocations whose tokens are expressions or statements (`tokio::select!`, `join!`,
//! `vec!`, `assert!`, `format!`, …) is visited like any other code, with its real spans.
//!
//! # How to add a rule
//! 1. Create `src/rust/rules/<snake_name>.rs`. In it:
//!    - `declare_rule! { /// ## What it does … /// ## Why is this bad? … pub static META = { code: "CA1xx",
//!      name: "kebab-name", severity: Warning, language: Rust, family: Blocking, summary: "…" }; }` — the
//!      static must be called `META`; the doc comment is the `explain` text (sections: What it does, Why is
//!      this bad?, Known problems, Example, Use instead, Runtime evidence). Declare the rule's properties there
//!      too: `family:` (a [`Family`](crate::registry::Family), the hundreds of the code), and when they apply
//!      `call_graph: Blocking | Heavy` (what it takes from the crate-wide call graph, see [`CallGraph`]) and
//!      `async_only: true` (it can fire only in async code);
//!    - `pub struct Rule;`, `impl RustRule for Rule { type FileState = (); fn meta(&self) -> &'static RuleMeta
//!      { &META } }` (plus [`prefilter`](RustRule::prefilter) words, when the rule can use them), and one
//!      `impl OnCall for Rule { fn on_call(&self, cx, st, call) { … } }` per hook it needs. Nothing else lists
//!      the hooks: implementing the trait is what makes the hook run.
//! 2. Add one line `VariantName = <snake_name>,` to the `rule_list!` list at the bottom of this file: it
//!    declares the module, the rule's variant of [`Rule`] (`Rule::Rust(Id::VariantName)`), [`RULES`] — the
//!    code table — and [`IMPLS`], the dispatch list.
//! 3. Add `fixtures/rust/<kebab-name>.rs` with `//~ kebab-name` markers on bad lines and unmarked good
//!    (tricky negative) cases; `cargo test -p conc-advisor-tests --test fixtures` runs it.
//!
//! See [`blocking_sleep`] for the smallest complete example, [`guard_across_await`] for one with state.

use syn::{Attribute, Block, Expr, ExprCall, ExprMethodCall, Signature};

use crate::diagnostic::Span;
pub use crate::registry::{CallGraph, Rule, RuleMeta};
pub use crate::rust::callgraph::CrateGraph;
pub use crate::rust::checker::Checker;
pub use crate::rust::link::LinkContext;
pub use crate::rust::semantic::Ty;

/// Which hooks a rule implements: the dispatch table calls only these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hooks(u32);

impl Hooks {
    /// [`OnCall`].
    pub const CALL: Hooks = Hooks(1);
    /// [`OnMethodCall`] (turns receiver type inference on).
    pub const METHOD_CALL: Hooks = Hooks(1 << 1);
    /// [`OnExpr`].
    pub const EXPR: Hooks = Hooks(1 << 2);
    /// [`OnFn`].
    pub const FN: Hooks = Hooks(1 << 3);
    /// [`OnFnExit`].
    pub const FN_EXIT: Hooks = Hooks(1 << 4);
    /// [`OnLocal`].
    pub const LOCAL: Hooks = Hooks(1 << 5);
    /// [`OnAwait`].
    pub const AWAIT: Hooks = Hooks(1 << 6);
    /// [`OnScopeExit`].
    pub const SCOPE_EXIT: Hooks = Hooks(1 << 7);
    /// [`OnItem`].
    pub const ITEM: Hooks = Hooks(1 << 8);
    /// [`OnFileEnd`].
    pub const FILE_END: Hooks = Hooks(1 << 9);
    /// Binding types even without [`Hooks::METHOD_CALL`] ([`RustRule::needs_types`], for [`SemanticModel::type_of`] on locals).
    ///
    /// [`SemanticModel::type_of`]: crate::rust::semantic::SemanticModel::type_of
    pub const TYPES: Hooks = Hooks(1 << 10);

    /// Whether every hook of `other` is in `self`.
    pub const fn contains(self, other: Hooks) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Hooks {
    type Output = Hooks;
    fn bitor(self, rhs: Hooks) -> Hooks {
        Hooks(self.0 | rhs.0)
    }
}

/// A call `f(args)` as a rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct CallSite<'a> {
    /// The call expression.
    pub expr: &'a ExprCall,
    /// The callee's fully qualified path, when the callee is a path that is not a local binding.
    pub path: Option<&'a str>,
    /// Whether the call's result is directly `.await`ed.
    pub awaited: bool,
}

impl CallSite<'_> {
    /// Whether the callee resolves to `path`.
    pub fn is(&self, path: &str) -> bool {
        self.path == Some(path)
    }

    /// Whether the callee resolves to one of `paths`.
    pub fn is_any(&self, paths: &[&str]) -> bool {
        self.path.is_some_and(|p| paths.contains(&p))
    }

    /// The span of the whole call.
    pub fn span(&self) -> Span {
        let start = Span::from_pm2(syn::spanned::Spanned::span(&self.expr.func)).start;
        Span::new(start, Span::from_pm2(self.expr.paren_token.span.close()).end)
    }
}

/// A method call `receiver.method(args)` as a rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct MethodCallSite<'a> {
    /// The call expression.
    pub expr: &'a ExprMethodCall,
    /// The method's name.
    pub method: &'a str,
    /// What the receiver's origin makes likely ([`Ty::Unknown`] when nothing is known: then match only
    /// method names that are unambiguous).
    pub receiver: &'a Ty,
    /// Whether the call's result is directly `.await`ed.
    pub awaited: bool,
}

impl MethodCallSite<'_> {
    /// The span from the method name to the closing parenthesis (`read_to_string(&mut s)`).
    pub fn span(&self) -> Span {
        let start = Span::from_pm2(self.expr.method.span()).start;
        Span::new(start, Span::from_pm2(self.expr.paren_token.span.close()).end)
    }
}

/// `e` without the wrappers that keep its value: parentheses, `?`, `.await`, `.unwrap()`, `.expect(..)`.
/// `File::open(p)?.read(..)`'s receiver strips to the `File::open(p)` call.
pub fn strip_wrappers(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Try(t) => &t.expr,
            Expr::Await(a) => &a.base,
            Expr::Reference(r) => &r.expr,
            Expr::MethodCall(m) if m.method == "unwrap" || m.method == "expect" => &m.receiver,
            _ => return e,
        };
    }
}

/// What kind of body [`FnBody`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FnBodyKind {
    /// A free `fn` item (also nested in a block).
    Item,
    /// A method or associated function in an `impl` block.
    ImplMethod,
    /// A trait method with a default body.
    TraitMethod,
    /// A closure (`|x| …`, `async |x| …`).
    Closure,
    /// An `async { … }` block.
    AsyncBlock,
}

/// A body being entered or left: functions, closures and async blocks. Function-level analyses walk
/// `block`/`expr` themselves (e.g. with a `syn::visit::Visit`) or accumulate per-file state across the
/// streaming hooks ([`RustRule::on_local`], [`RustRule::on_await`], [`RustRule::on_scope_exit`]).
#[derive(Debug, Clone, Copy)]
pub struct FnBody<'a> {
    /// What it is.
    pub kind: FnBodyKind,
    /// The signature, for functions and methods.
    pub sig: Option<&'a Signature>,
    /// The attributes (functions, closures and async blocks).
    pub attrs: &'a [Attribute],
    /// The body block (functions, async blocks; closures whose body is a block expression have `expr`).
    pub block: Option<&'a Block>,
    /// The body expression of a closure.
    pub expr: Option<&'a Expr>,
    /// Whether the body is async (`async fn`, async block, async closure).
    pub is_async: bool,
}

/// A Rust rule: its identity, its per-file state, and when the checker may skip it. Its hooks are one trait
/// each ([`OnCall`], [`OnMethodCall`], [`OnExpr`], [`OnFn`], [`OnFnExit`], [`OnLocal`], [`OnAwait`],
/// [`OnScopeExit`], [`OnItem`], [`OnFileEnd`]): the dispatch table is built from the traits the rule implements
/// (see [`register_rust_rule!`](crate::register_rust_rule)), so a hook cannot be implemented and never run. See the
/// module documentation.
pub trait RustRule: Sync + Sized + 'static {
    /// What the rule keeps while one file is visited (guards alive, lock orders, what it already reported);
    /// `()` when nothing. A fresh one per file ([`RustRule::start_file`]); every hook gets it.
    type FileState: Default;
    /// The rule's identity (declared with `declare_rule!` as `META`).
    fn meta(&self) -> &'static RuleMeta;
    /// The state the rule starts a file with (default: `FileState::default()`).
    fn start_file(&self) -> Self::FileState {
        Self::FileState::default()
    }
    /// Whether the rule reads binding types (for [`SemanticModel::type_of`] on locals) without implementing
    /// [`OnMethodCall`] (which turns them on by itself). Default: no.
    ///
    /// [`SemanticModel::type_of`]: crate::rust::semantic::SemanticModel::type_of
    fn needs_types(&self) -> bool {
        false
    }
    /// Words of which the text must contain at least one for this rule to possibly fire outside async code.
    /// When every active rule declares words, the checker skips what none of them can fire in: a file without
    /// any of the words (only lexed, when no call graph needs it); outside async context, a non-async `fn` or a
    /// macro body without any of them (where no call graph is needed, such a `fn`'s body is blanked before
    /// parsing, see `rust::scan`); and, when the call graph needs every function visited, this rule's hooks in
    /// a non-async `fn` whose text holds none of its words. Empty (the default): the rule sees everything. The blocking
    /// rules return `&["async"]`: no async code, no executor (they still see every function, for the call
    /// graph's blocking facts).
    ///
    /// Words are matched against the text as written, so an import renamed to a name without any of the words
    /// (`use std::thread::spawn as go;`) hides its use in a sync function from the rule.
    fn prefilter(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether this file's text can hold what the rule reports at all; asked once per file in which some of
    /// its [`prefilter`](RustRule::prefilter) words occur (default: yes). For a rule whose findings need a
    /// declaration in the same file (CA409: a `static mut`) or a library (CA304: rayon), this keeps a file that
    /// holds one of the words by chance (`unsafe`, `join`) from being parsed for the rule.
    fn file_may_fire(&self, _source: &str) -> bool {
        true
    }
    /// Whether the rule records facts for the crate-wide call graph in sync code (blocking calls, CPU-heavy
    /// work): then, where the graph is needed, it sees every function whatever its words. Default: the rules
    /// declared with `call_graph: Blocking`.
    fn feeds_graph(&self) -> bool {
        self.meta().call_graph == CallGraph::Blocking
    }
    /// Whether the rule's link step walks the crate's calls from a held lock guard (double lock, lock order,
    /// blocking while locked across calls): then the checker records every crate-local call
    /// ([`LockCall`](crate::rust::callgraph::LockCall)), and in a file holding the rule's words visits every
    /// function. Default: no.
    fn follows_lock_calls(&self) -> bool {
        false
    }
    /// The crate-level step: run once per crate, after all of its files are visited, with the crate's
    /// [`CrateGraph`] (the facts every file recorded, calls resolved, summaries propagated on demand). A rule
    /// whose findings need more than one function or file builds them here and reports them with
    /// [`LinkContext::report`]. Not run when the rule is disabled. Default: nothing.
    fn link(&self, _graph: &CrateGraph<'_>, _cx: &mut LinkContext<'_>) {}
}

/// Hook: a call `f(..)`.
pub trait OnCall: RustRule {
    /// A call `f(..)`.
    fn on_call(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, call: &CallSite<'_>);
}
/// Hook: a method call `recv.m(..)` (turns receiver type inference on).
pub trait OnMethodCall: RustRule {
    /// A method call `recv.m(..)`.
    fn on_method_call(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, call: &MethodCallSite<'_>);
}
/// Hook: any expression, before its children are visited.
pub trait OnExpr: RustRule {
    /// Any expression, before its children are visited.
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, expr: &Expr);
}
/// Hook: entering a function, method, closure or async block.
pub trait OnFn: RustRule {
    /// Entering a function, method, closure or async block (its frame is already on the context stack and its
    /// parameters are bound).
    fn on_fn(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, body: &FnBody<'_>);
}
/// Hook: leaving a function, method, closure or async block.
pub trait OnFnExit: RustRule {
    /// Leaving it (its frame is still on the stack).
    fn on_fn_exit(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, body: &FnBody<'_>);
}
/// Hook: a `let` statement.
pub trait OnLocal: RustRule {
    /// A `let` statement, after its initialiser is visited and its pattern bound.
    fn on_local(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, local: &syn::Local);
}
/// Hook: an `.await`.
pub trait OnAwait: RustRule {
    /// An `.await`, after its operand is visited.
    fn on_await(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, await_: &syn::ExprAwait);
}
/// Hook: leaving a scope.
pub trait OnScopeExit: RustRule {
    /// Leaving scope `scope` (a block, arm or loop body): bindings with this scope id die.
    fn on_scope_exit(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, scope: usize);
}
/// Hook: any item.
pub trait OnItem: RustRule {
    /// Any item, at any depth, before its contents are visited.
    fn on_item(&self, cx: &mut Checker<'_>, st: &mut Self::FileState, item: &syn::Item);
}
/// Hook: the end of the file.
pub trait OnFileEnd: RustRule {
    /// After the whole file is visited.
    fn on_file_end(&self, cx: &mut Checker<'_>, st: &mut Self::FileState);
}

/// Declares, for every hook, the function-pointer type a rule's hook has, the [`HookFns`] table, the running
/// rule's object-safe interface ([`FileRule`]), and the probe that finds whether a rule implements the hook.
macro_rules! hooks {
    ($($field:ident: $trait:ident :: $method:ident ($($arg:ident: $ty:ty),*) => $bit:ident, $probe:ident, $lacks:ident;)*) => {
        /// A rule's hooks, as function pointers (`None`: the rule does not implement that hook's trait).
        pub struct HookFns<R: RustRule> {
            $(
                #[doc = concat!("[`", stringify!($trait), "`].")]
                pub $field: Option<fn(&R, &mut Checker<'_>, &mut R::FileState $(, $ty)*)>,
            )*
        }

        impl<R: RustRule> HookFns<R> {
            /// Which hooks are set.
            pub fn hooks(&self) -> Hooks {
                let mut h = Hooks::default();
                $(if self.$field.is_some() { h = h | Hooks::$bit; })*
                h
            }
        }

        /// A rule running over one file: the rule, its hooks and its state, behind one object-safe interface.
        pub trait FileRule {
            $(
                #[doc = concat!("Runs [`", stringify!($trait), "::", stringify!($method), "`].")]
                fn $method(&mut self, cx: &mut Checker<'_> $(, $arg: $ty)*);
            )*
        }

        impl<R: RustRule> FileRule for Running<R> {
            $(
                fn $method(&mut self, cx: &mut Checker<'_> $(, $arg: $ty)*) {
                    if let Some(f) = self.fns.$field {
                        f(self.rule, cx, &mut self.state $(, $arg)*);
                    }
                }
            )*
        }

        /// How [`register_rust_rule!`](crate::register_rust_rule) finds a rule's hooks: method resolution on
        /// `&&HookProbe<R>` picks the impl for `&HookProbe<R>` when `R` implements the hook's trait (autoref
        /// specialisation on a concrete type), else the one for `HookProbe<R>`, which answers `None`.
        #[doc(hidden)]
        pub mod probe {
            use super::*;

            /// The type hooks are looked up on.
            pub struct HookProbe<R>(pub std::marker::PhantomData<R>);

            $(
                #[doc = concat!("`R` implements [`", stringify!($trait), "`].")]
                pub trait $probe<R: RustRule> {
                    #[doc = concat!("[`", stringify!($trait), "::", stringify!($method), "`].")]
                    fn $field(&self) -> Option<fn(&R, &mut Checker<'_>, &mut R::FileState $(, $ty)*)>;
                }
                impl<R: $trait> $probe<R> for &HookProbe<R> {
                    fn $field(&self) -> Option<fn(&R, &mut Checker<'_>, &mut R::FileState $(, $ty)*)> {
                        Some(<R as $trait>::$method)
                    }
                }
                #[doc = concat!("`R` does not implement [`", stringify!($trait), "`].")]
                pub trait $lacks<R: RustRule> {
                    #[doc = concat!("None.")]
                    fn $field(&self) -> Option<fn(&R, &mut Checker<'_>, &mut R::FileState $(, $ty)*)> {
                        None
                    }
                }
                impl<R: RustRule> $lacks<R> for HookProbe<R> {}
            )*
        }

    };
}

hooks! {
    call: OnCall::on_call(call: &CallSite<'_>) => CALL, HasOnCall, LacksOnCall;
    method_call: OnMethodCall::on_method_call(call: &MethodCallSite<'_>) => METHOD_CALL, HasOnMethodCall, LacksOnMethodCall;
    expr: OnExpr::on_expr(expr: &Expr) => EXPR, HasOnExpr, LacksOnExpr;
    fn_: OnFn::on_fn(body: &FnBody<'_>) => FN, HasOnFn, LacksOnFn;
    fn_exit: OnFnExit::on_fn_exit(body: &FnBody<'_>) => FN_EXIT, HasOnFnExit, LacksOnFnExit;
    local: OnLocal::on_local(local: &syn::Local) => LOCAL, HasOnLocal, LacksOnLocal;
    await_: OnAwait::on_await(await_: &syn::ExprAwait) => AWAIT, HasOnAwait, LacksOnAwait;
    scope_exit: OnScopeExit::on_scope_exit(scope: usize) => SCOPE_EXIT, HasOnScopeExit, LacksOnScopeExit;
    item: OnItem::on_item(item: &syn::Item) => ITEM, HasOnItem, LacksOnItem;
    file_end: OnFileEnd::on_file_end() => FILE_END, HasOnFileEnd, LacksOnFileEnd;
}

/// The hook table of the rule type `$rule` (a concrete type: the probe needs one).
#[doc(hidden)]
#[macro_export]
macro_rules! rust_hook_fns {
    ($rule:ty) => {{
        #[allow(unused_imports)]
        use $crate::rust::rules::probe::*;
        let probe = &&$crate::rust::rules::probe::HookProbe::<$rule>(std::marker::PhantomData);
        $crate::rust::rules::HookFns::<$rule> {
            call: probe.call(),
            method_call: probe.method_call(),
            expr: probe.expr(),
            fn_: probe.fn_(),
            fn_exit: probe.fn_exit(),
            local: probe.local(),
            await_: probe.await_(),
            scope_exit: probe.scope_exit(),
            item: probe.item(),
            file_end: probe.file_end(),
        }
    }};
}

/// A rule running over one file (see [`FileRule`]).
pub struct Running<R: RustRule> {
    rule: &'static R,
    fns: HookFns<R>,
    state: R::FileState,
}

/// A registered rule, as the dispatch table sees it (object-safe: the registered list holds every rule type).
pub trait DynRule: Sync {
    /// Which rule of [`Rule`] this is.
    fn id(&self) -> Rule;
    /// [`RustRule::meta`].
    fn meta(&self) -> &'static RuleMeta;
    /// The hooks the rule implements (found from its traits), and [`Hooks::TYPES`] if it
    /// [`needs_types`](RustRule::needs_types).
    fn hooks(&self) -> Hooks;
    /// [`RustRule::prefilter`].
    fn prefilter(&self) -> &'static [&'static str];
    /// [`RustRule::file_may_fire`].
    fn file_may_fire(&self, source: &str) -> bool;
    /// [`RustRule::feeds_graph`].
    fn feeds_graph(&self) -> bool;
    /// [`RustRule::follows_lock_calls`].
    fn follows_lock_calls(&self) -> bool;
    /// The rule set up for a new file: its hooks and a fresh [`RustRule::start_file`] state.
    fn start_file(&'static self) -> Box<dyn FileRule>;
    /// [`RustRule::link`].
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>);
}

/// A rule type registered with its [`Rule`] and its hook table; made by
/// [`register_rust_rule!`](crate::register_rust_rule).
pub struct Registered<R: RustRule> {
    /// The rule.
    pub rule: R,
    /// Which rule it is.
    pub id: Rule,
    /// Its hook table (a function: the probe runs outside `const`).
    pub fns: fn() -> HookFns<R>,
}

impl<R: RustRule> DynRule for Registered<R> {
    fn id(&self) -> Rule {
        self.id
    }
    fn meta(&self) -> &'static RuleMeta {
        self.rule.meta()
    }
    fn hooks(&self) -> Hooks {
        let h = (self.fns)().hooks();
        if self.rule.needs_types() { h | Hooks::TYPES } else { h }
    }
    fn prefilter(&self) -> &'static [&'static str] {
        self.rule.prefilter()
    }
    fn file_may_fire(&self, source: &str) -> bool {
        self.rule.file_may_fire(source)
    }
    fn feeds_graph(&self) -> bool {
        self.rule.feeds_graph()
    }
    fn follows_lock_calls(&self) -> bool {
        self.rule.follows_lock_calls()
    }
    fn start_file(&'static self) -> Box<dyn FileRule> {
        Box::new(Running { rule: &self.rule, fns: (self.fns)(), state: self.rule.start_file() })
    }
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        self.rule.link(graph, cx);
    }
}

/// Registers the rule `$rule` (a unit struct implementing [`RustRule`] and its hook traits) as `$id` (a
/// [`Rule`]): `&'static dyn DynRule`, its hooks found from the traits it implements.
#[macro_export]
macro_rules! register_rust_rule {
    ($rule:path, $id:expr) => {
        &$crate::rust::rules::Registered::<$rule> { rule: $rule, id: $id, fns: || $crate::rust_hook_fns!($rule) }
    };
}

/// A set of a [`Dispatch`]'s rules, one bit each (a rule's position in the list the table was built from).
pub(crate) type Slots = u64;

/// A rule in a hook list: its bit in the [`Dispatch`]'s [`Slots`], and its place in [`Dispatch::rules`].
#[derive(Clone, Copy)]
pub(crate) struct Hooked {
    pub bit: Slots,
    pub slot: usize,
}

/// The places in [`Dispatch::rules`] of the rules of `list` that are in `active`.
pub(crate) fn active(list: &[Hooked], active: Slots) -> impl Iterator<Item = usize> + '_ {
    list.iter().filter(move |h| h.bit & active != 0).map(|h| h.slot)
}

/// The enabled rules of one file, by hook, and where in the file their prefilter words occur.
#[derive(Default)]
pub(crate) struct Dispatch {
    pub calls: Vec<Hooked>,
    pub method_calls: Vec<Hooked>,
    pub exprs: Vec<Hooked>,
    pub fns: Vec<Hooked>,
    pub fn_exits: Vec<Hooked>,
    pub locals: Vec<Hooked>,
    pub awaits: Vec<Hooked>,
    pub scope_exits: Vec<Hooked>,
    pub items: Vec<Hooked>,
    pub file_ends: Vec<Hooked>,
    /// The enabled rules of this file; the hook lists point into it.
    pub rules: Vec<&'static dyn DynRule>,
    /// Every rule of this table.
    pub all: Slots,
    /// The rules that see every function whatever its words: those without prefilter words, and, where the
    /// call graph is needed, those that feed it ([`RustRule::feeds_graph`]).
    pub ungated: Slots,
    /// Where the rules' words occur: `(byte offset, rules with that word)`, by offset. Empty when a rule has
    /// no words (then [`Dispatch::words_in`] answers "every rule").
    words: Vec<(u32, Slots)>,
    /// Whether every rule of the table has words (else nothing can be skipped by words).
    pub gated: bool,
    /// Whether any enabled rule uses the crate-wide call graph (declared `call_graph: Blocking` or `Heavy`):
    /// then every sync function is visited, since chains from async code run through functions that hold none
    /// of the prefilter words.
    pub chains: bool,
    /// Whether any enabled rule consumes CPU-heavy summaries (declared `call_graph: Heavy`): then the checker
    /// judges every loop once ([`heavy::loop_evidence`](crate::rust::heavy::loop_evidence)), whichever rules
    /// are active where it stands.
    pub heavy_facts: bool,
    /// Whether any enabled rule follows calls from held locks ([`RustRule::follows_lock_calls`]): the checker
    /// records every crate-local call as a [`LockCall`](crate::rust::callgraph::LockCall).
    pub lock_calls: bool,
    /// Whether such a rule's words are in this file: then every function is visited (none skipped or blanked),
    /// so that the calls between them are known.
    pub lock_fns: bool,
    /// Whether any enabled rule needs types.
    pub types: bool,
    /// Whether the file is visited at all: a rule can fire in it, or the call graph needs its facts.
    pub any: bool,
}

/// The prefilter words of a list of rules, compiled once per list into one Aho-Corasick automaton.
struct WordIndex {
    automaton: aho_corasick::AhoCorasick,
    /// Each pattern's word (kept for the tests).
    #[cfg(test)]
    words: Vec<&'static str>,
    /// For each pattern, the patterns it contains (itself included): a match of one is a match of those too.
    #[cfg(test)]
    contains: Vec<Vec<usize>>,
    /// For each pattern, the rules (bit = position in the list, the first 64) with a word it contains, itself
    /// or one inside it.
    rules: Vec<Slots>,
}

impl WordIndex {
    fn new(rules: &[&'static dyn DynRule]) -> Self {
        let mut words: Vec<&'static str> = rules.iter().flat_map(|r| r.prefilter().iter().copied()).collect();
        words.sort_unstable();
        words.dedup();
        let contains: Vec<Vec<usize>> =
            words.iter().map(|w| (0..words.len()).filter(|&j| w.contains(words[j])).collect()).collect();
        let automaton = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&words)
            .expect("a few short literal words always compile");
        let with_word = |w: &str| {
            rules
                .iter()
                .take(Slots::BITS as usize)
                .enumerate()
                .filter(|(_, r)| r.prefilter().contains(&w))
                .fold(0, |m, (i, _)| m | 1 << i)
        };
        let rules = contains.iter().map(|inner| inner.iter().fold(0, |m, &j| m | with_word(words[j]))).collect();
        WordIndex {
            automaton,
            rules,
            #[cfg(test)]
            words,
            #[cfg(test)]
            contains,
        }
    }

    /// Every match in `text`: its start and pattern. Each search resumes one byte after the last match's
    /// start, so a word that begins inside another (`lock()` in `unblock()`) is found too; a word that a
    /// longer one begins with (`spawn` in `spawn_blocking`) is in `contains`.
    fn matches<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
        let mut from = 0;
        std::iter::from_fn(move || {
            let m = self.automaton.find(aho_corasick::Input::new(text).range(from..))?;
            from = m.start() + 1;
            Some((m.start(), m.pattern().as_usize()))
        })
    }
}

/// The word index of `rules` (cached by the list's address: the registered list, and the few lists tests use).
fn word_index(rules: &[&'static dyn DynRule]) -> std::sync::Arc<WordIndex> {
    use std::sync::{Arc, Mutex};
    static CACHE: Mutex<Vec<(usize, usize, Arc<WordIndex>)>> = Mutex::new(Vec::new());
    let key = (rules.as_ptr() as usize, rules.len());
    let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, _, w)) = cache.iter().find(|(a, n, _)| (*a, *n) == key) {
        return w.clone();
    }
    let index = Arc::new(WordIndex::new(rules));
    cache.push((key.0, key.1, index.clone()));
    index
}

/// Whether `source` holds `lock()` as a whole name (not the end of a longer identifier such as `unlock()`).
fn calls_lock(source: &str) -> bool {
    let b = source.as_bytes();
    memchr::memmem::find_iter(b, b"lock()")
        .any(|at| at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_'))
}

impl Dispatch {
    /// The table for the `rules` that `settings` enables and whose prefilter `source` passes. `graph`: whether
    /// the file's crate needs the call graph (see [`GRAPH_ROOT_IDENTS`](crate::rust::GRAPH_ROOT_IDENTS)).
    pub(crate) fn new(
        rules: &[&'static dyn DynRule],
        settings: &crate::settings::Settings,
        source: &str,
        graph: bool,
    ) -> Self {
        let index = word_index(rules);
        // A rule's bit is its position in `rules` (the first 64): which rules have each word is known once per
        // list, and one pass over the text finds the words.
        let enabled: Slots = rules
            .iter()
            .take(Slots::BITS as usize)
            .enumerate()
            .filter(|(_, r)| settings.enabled.contains(r.id()))
            .fold(0, |m, (i, _)| m | 1 << i);
        let mut words = Vec::new();
        let mut present: Slots = 0;
        if index.rules.iter().any(|&m| m & enabled != 0) {
            for (at, pattern) in index.matches(source) {
                let rules = index.rules[pattern] & enabled;
                if rules != 0 {
                    present |= rules;
                    // Offsets above 4 GiB cannot occur: such a file is not read.
                    words.push((u32::try_from(at).unwrap_or(u32::MAX), rules));
                }
            }
        }
        words.sort_unstable_by_key(|&(at, _)| at);
        let mut d = Dispatch { words, gated: true, ..Dispatch::default() };
        for (i, &rule) in rules.iter().take(Slots::BITS as usize).enumerate() {
            let bit: Slots = 1 << i;
            if enabled & bit == 0 {
                continue;
            }
            // The call graph's facts come from every file, whether or not the rule that reports on them can
            // fire in this one.
            let meta = rule.meta();
            d.chains |= graph && meta.call_graph != CallGraph::None;
            if rule.follows_lock_calls() {
                // Calls are recorded where a chain can pass: files with a lock word, and every file of a crate
                // with the call graph (whose sync helpers are visited anyway).
                d.lock_calls |= present & bit != 0 || graph;
                d.lock_fns |= present & bit != 0;
            }
            d.heavy_facts |= graph && meta.call_graph == CallGraph::Heavy;
            let words = rule.prefilter();
            // A rule that feeds the call graph does so from files without async code too (the helpers async
            // code calls): then its prefilter applies neither to the file nor to sync functions.
            let feeds_graph = graph && rule.feeds_graph();
            if !feeds_graph && !words.is_empty() && present & bit == 0 {
                continue;
            }
            // A crate without the call graph has no `async` (see `GRAPH_ROOT_IDENTS`): a rule that fires only in
            // async code cannot fire there.
            if !graph && meta.async_only {
                continue;
            }
            if !feeds_graph && !rule.file_may_fire(source) {
                continue;
            }
            d.all |= bit;
            if words.is_empty() {
                d.gated = false;
            }
            if words.is_empty() || feeds_graph {
                d.ungated |= bit;
            }
            let h = rule.hooks();
            let slot = d.rules.len();
            d.rules.push(rule);
            let table: [(Hooks, &mut Vec<Hooked>); 10] = [
                (Hooks::CALL, &mut d.calls),
                (Hooks::METHOD_CALL, &mut d.method_calls),
                (Hooks::EXPR, &mut d.exprs),
                (Hooks::FN, &mut d.fns),
                (Hooks::FN_EXIT, &mut d.fn_exits),
                (Hooks::LOCAL, &mut d.locals),
                (Hooks::AWAIT, &mut d.awaits),
                (Hooks::SCOPE_EXIT, &mut d.scope_exits),
                (Hooks::ITEM, &mut d.items),
                (Hooks::FILE_END, &mut d.file_ends),
            ];
            for (hook, list) in table {
                if h.contains(hook) {
                    list.push(Hooked { bit, slot });
                }
            }
            d.types |= h.contains(Hooks::METHOD_CALL) || h.contains(Hooks::TYPES);
        }
        // `read()` and `write()` are mostly I/O: only a file that takes a mutex or names a read-write lock has
        // functions worth visiting whole for lock chains (visiting them all costs parsing every body). A mutex is
        // taken by a call named `lock` (`m.lock()`, `lock()`), not by `unlock()`, `block()` or `CRYPTO_dynlock()`.
        d.lock_fns &= calls_lock(source) || source.contains("RwLock");
        d.any = d.all != 0 || d.chains;
        d
    }

    /// The rules with a prefilter word inside the byte range `range` of the file (every rule when some rule
    /// has no words).
    pub(crate) fn words_in(&self, range: std::ops::Range<usize>) -> Slots {
        if !self.gated {
            return self.all;
        }
        let from = self.words.partition_point(|&(at, _)| (at as usize) < range.start);
        self.words[from..].iter().take_while(|&&(at, _)| (at as usize) < range.end).fold(0, |m, &(_, r)| m | r)
    }
}

pub(crate) mod blocking_chain;
pub(crate) mod call_chain;
pub(crate) mod lock_facts;
pub(crate) mod locking;

crate::rule_list! {
    /// The Rust rules, one line each: `Variant = module` (the file `rules/<module>.rs`).
    rust:
    BlockingSleep = blocking_sleep,
    BlockingFs = blocking_fs,
    BlockingNet = blocking_net,
    BlockingProcess = blocking_process,
    BlockingWait = blocking_wait,
    BlockingHttp = blocking_http,
    RuntimeInAsync = runtime_in_async,
    TokioBlockingMethod = tokio_blocking_method,
    BlockInPlaceCurrentThread = block_in_place_current_thread,
    CpuHeavyInAsync = cpu_heavy_in_async,
    CpuHeavyInSpawnBlocking = cpu_heavy_in_spawn_blocking,
    RayonInAsync = rayon_in_async,
    ThreadPerItem = thread_per_item,
    ThreadPerConnection = thread_per_connection,
    OversizedPool = oversized_pool,
    NestedPool = nested_pool,
    GuardAcrossAwait = guard_across_await,
    RefcellAcrossAwait = refcell_across_await,
    DoubleLock = double_lock,
    LockOrderInversion = lock_order_inversion,
    LockCheckThenAct = lock_check_then_act,
    LockInParallelLoop = lock_in_parallel_loop,
    BlockingWhileLocked = blocking_while_locked,
    CondvarWaitWithoutLoop = condvar_wait_without_loop,
    StaticMutShared = static_mut_shared,
    UnsafeSyncImpl = unsafe_sync_impl,
    ArcOfNonSync = arc_of_non_sync,
    AtomicCheckThenAct = atomic_check_then_act,
    SpinWithoutHint = spin_without_hint,
    SleepPollingLoop = sleep_polling_loop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_call_named_lock_takes_a_mutex() {
        for yes in ["m.lock().unwrap()", "lock()", "let g = lock();", "Self::lock()"] {
            assert!(calls_lock(yes), "{yes}");
        }
        // Bindgen's `CRYPTO_dynlock()` made every function of aws-lc-sys's 900 kB bindings be parsed.
        for no in ["m.unlock()", "f.block()", "fn bindgen_test_layout_CRYPTO_dynlock() {}", "lock(&m)", "clock ()"] {
            assert!(!calls_lock(no), "{no}");
        }
    }

    /// A rule that only has words.
    struct Words(&'static [&'static str]);

    impl RustRule for Words {
        type FileState = ();
        fn meta(&self) -> &'static RuleMeta {
            RULES[0]
        }
        fn prefilter(&self) -> &'static [&'static str] {
            self.0
        }
    }

    impl OnCall for Words {
        fn on_call(&self, _: &mut Checker<'_>, (): &mut (), _: &CallSite<'_>) {}
    }

    fn words(w: &'static [&'static str]) -> &'static dyn DynRule {
        Box::leak(Box::new(Registered {
            rule: Words(w),
            id: Rule::Rust(Id::BlockingSleep),
            fns: || crate::rust_hook_fns!(Words),
        }))
    }

    /// A rule with two hooks and state.
    struct Two;

    impl RustRule for Two {
        type FileState = Vec<usize>;
        fn meta(&self) -> &'static RuleMeta {
            &spin_without_hint::META
        }
        fn start_file(&self) -> Vec<usize> {
            vec![7]
        }
    }

    impl OnExpr for Two {
        fn on_expr(&self, _: &mut Checker<'_>, st: &mut Vec<usize>, _: &Expr) {
            st.push(1);
        }
    }

    impl OnFileEnd for Two {
        fn on_file_end(&self, cx: &mut Checker<'_>, st: &mut Vec<usize>) {
            let d = cx.diagnostic(self.meta(), Span::default(), format!("{st:?}"));
            cx.report(d);
        }
    }

    #[test]
    fn hooks_are_found_from_the_traits_a_rule_implements() {
        assert_eq!(crate::rust_hook_fns!(Two).hooks(), Hooks::EXPR | Hooks::FILE_END);
        assert_eq!(crate::rust_hook_fns!(Words).hooks(), Hooks::CALL);
        // The state starts with `start_file` and is the rule's own across hooks: five expressions (`g(1 + 2)`,
        // `g`, `1 + 2`, `1`, `2`).
        static TWO: &dyn DynRule = crate::register_rust_rule!(Two, Rule::Rust(Id::SpinWithoutHint));
        let settings = crate::settings::Settings::only(&[&spin_without_hint::META]);
        let d =
            crate::rust::analyze_with_rules(std::path::Path::new("a.rs"), "fn f() { g(1 + 2); }", &settings, &[TWO]);
        let two: Vec<_> = d.iter().filter(|d| d.rule == &spin_without_hint::META).map(|d| d.message.as_str()).collect();
        assert_eq!(two, ["[7, 1, 1, 1, 1, 1]"]);
    }

    #[test]
    fn rules_that_need_async_code_say_so() {
        // A rule whose only words are keywords of async code is declared `async_only` (it is off in a crate
        // without async code); `call_graph` is declared by the rules of the families that use the graph.
        for r in IMPLS {
            let words = r.prefilter();
            let m = r.meta();
            if !words.is_empty() && words.iter().all(|w| matches!(*w, "async" | "await")) {
                assert!(m.async_only, "{} has only async words but is not `async_only`", m.code);
            }
            let uses_graph = matches!(
                m.family,
                crate::registry::Family::Blocking
                    | crate::registry::Family::ExecutorLoad
                    | crate::registry::Family::Threads
            );
            assert_eq!(m.call_graph != CallGraph::None, uses_graph, "{}", m.code);
        }
    }

    #[test]
    fn word_index_finds_every_word_also_inside_another() {
        let found = |index: &WordIndex, text: &str| {
            let mut w: Vec<&str> =
                index.matches(text).flat_map(|(_, p)| index.contains[p].iter().map(|&j| index.words[j])).collect();
            w.sort_unstable();
            w.dedup();
            w
        };
        // `spawn_blocking` begins with `spawn`; `lock()` begins inside `unblock`.
        let index = WordIndex::new(&[words(&["spawn", "spawn_blocking", "lock()"]), words(&["unblock", "async"])]);
        assert_eq!(index.rules[index.words.iter().position(|w| *w == "spawn_blocking").unwrap()], 0b01);
        assert_eq!(
            found(&index, "x.spawn_blocking(|| m.lock()); unblock()"),
            vec!["lock()", "spawn", "spawn_blocking", "unblock"]
        );
        assert_eq!(found(&index, "no words here"), Vec::<&str>::new());
        // The registered rules' words.
        let all = WordIndex::new(IMPLS);
        for w in &all.words {
            assert!(found(&all, &format!("x {w} y")).contains(w), "{w}");
        }
    }

    /// The rules a file's dispatch table runs, by name.
    fn enabled(source: &str, graph: bool) -> Vec<&'static str> {
        let d = Dispatch::new(IMPLS, &crate::settings::Settings::default(), source, graph);
        d.rules.iter().map(|r| r.meta().name).collect()
    }

    #[test]
    fn a_word_found_by_chance_does_not_enable_a_rule_that_cannot_fire() {
        // `unsafe` without a `static mut` declared in the file: CA409 cannot fire.
        assert!(!enabled("fn f() { unsafe { g() } }", false).contains(&"static-mut-shared"));
        assert!(enabled("static mut N: u8 = 0; fn f() { unsafe { N += 1 } }", false).contains(&"static-mut-shared"));
        // `join` of paths, with no rayon in the file: CA304 cannot fire.
        assert!(!enabled("fn f() { p.join(q); }", false).contains(&"nested-pool"));
        assert!(enabled("fn f() { rayon::join(a, b); }", false).contains(&"nested-pool"));
        // `Arc` without `Cell`/`Rc`, `wait` without a condition variable in sight.
        assert!(
            !enabled("fn f(a: Arc<u8>) { child.wait(); }", false)
                .iter()
                .any(|r| { ["arc-of-non-sync", "condvar-wait-without-loop"].contains(r) })
        );
        assert!(enabled("fn f(c: &Condvar) { c.wait(g); }", false).contains(&"condvar-wait-without-loop"));
        // `async` in a comment of a crate without async code: no rule of async code runs.
        let comment = "// not async-signal-safe, do not .await\nfn f() {}";
        assert!(enabled(comment, false).is_empty(), "{:?}", enabled(comment, false));
        assert!(enabled(comment, true).contains(&"blocking-sleep-in-async"));
    }

    #[test]
    fn rules_and_impls_agree() {
        assert_eq!(RULES.len(), IMPLS.len());
        for (meta, imp) in RULES.iter().zip(IMPLS) {
            assert_eq!(meta.code, imp.meta().code);
            assert_eq!(imp.id().meta().code, meta.code);
            assert_ne!(imp.hooks(), Hooks::default(), "{} implements no hook", meta.code);
            for section in ["## Known problems", "## Example", "## Use instead", "## Runtime evidence"] {
                assert!(meta.doc.contains(section), "{} has no `{section}`", meta.code);
            }
        }
    }
}
