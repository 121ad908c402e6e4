//! The one visit over a parsed file: [`Checker`] walks the syn tree, keeps the semantic model and the context
//! stack up to date, and calls the enabled rules' hooks (see [`crate::rust::rules`]).

use std::path::Path;

use syn::visit::{self, Visit};
use syn::{Attribute, Block, Expr, Signature};

use super::context::{ContextStack, Frame, FrameKind, OffExecutor, RuntimeFlavor};
use super::rules::{CallGraph, CallSite, Dispatch, FileRule, FnBody, FnBodyKind, Hooked, MethodCallSite};
use super::semantic::{ScopeKind, SemanticModel, Ty};
use crate::diagnostic::{Diagnostic, Span};
use crate::registry::RuleMeta;
use crate::settings::Settings;

/// The state of the visit that rules see: the semantic model, the context stack, the settings, and where
/// findings go.
pub struct Checker<'a> {
    path: &'a Path,
    settings: &'a Settings,
    dispatch: &'a Dispatch,
    semantic: SemanticModel,
    context: ContextStack,
    diagnostics: Vec<Diagnostic>,
    /// The enabled rules running over this file, each with its own state, in the order of
    /// [`Dispatch::rules`]. Lent out of the checker while their hooks run ([`Checker::run_hooks`]).
    rules: Vec<Box<dyn FileRule>>,
    /// The loops judged so far ([`heavy::loop_evidence`](super::heavy::loop_evidence)).
    pub(crate) loops: super::heavy::LoopState,
    /// The loops and scopes the thread rules (CA301, CA302, CA304) track together
    /// ([`thread_per_item::track_loop`](super::rules::thread_per_item::track_loop)).
    pub(crate) thread_loops: super::rules::thread_per_item::Loops,
    /// Address of the expression an enclosing `.await` applies to.
    await_target: Option<usize>,
    /// Closures (by address) that are about to be visited and run off the executor.
    closure_roles: Vec<(usize, OffExecutor)>,
    /// Async blocks (by address) that are about to be visited and run under a known runtime flavour.
    block_flavors: Vec<(usize, RuntimeFlavor)>,
    macro_depth: u32,
    /// The rules whose hooks run at this point: all of them, except inside a sync function, where only the
    /// ungated rules and those with a prefilter word in the function's text run.
    active: super::rules::Slots,
    /// Per-file facts for the crate-wide call graph.
    facts: super::callgraph::Collector,
}

fn addr<T>(t: &T) -> usize {
    std::ptr::from_ref(t) as usize
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        Expr::Group(g) => strip_parens(&g.expr),
        _ => e,
    }
}

/// The closure an argument evaluates to: `|| ..`, or the closure a block ends with
/// (`thread::spawn({ let x = x.clone(); move || .. })`).
fn closure_value(e: &Expr) -> Option<&syn::ExprClosure> {
    match strip_parens(e) {
        Expr::Closure(c) => Some(c),
        Expr::Block(b) if b.label.is_none() => match b.block.stmts.last() {
            Some(syn::Stmt::Expr(e, None)) => closure_value(e),
            _ => None,
        },
        _ => None,
    }
}

impl<'a> Checker<'a> {
    pub(crate) fn new(path: &'a Path, settings: &'a Settings, dispatch: &'a Dispatch) -> Self {
        let mut semantic = SemanticModel::new(path, dispatch.types);
        if dispatch.chains {
            semantic.link_package_lib(path);
        }
        Checker {
            path,
            settings,
            dispatch,
            semantic,
            context: ContextStack::default(),
            diagnostics: Vec::new(),
            rules: dispatch.rules.iter().map(|r| r.start_file()).collect(),
            loops: super::heavy::LoopState::default(),
            thread_loops: super::rules::thread_per_item::Loops::default(),
            await_target: None,
            closure_roles: Vec::new(),
            block_flavors: Vec::new(),
            macro_depth: 0,
            active: dispatch.all,
            facts: super::callgraph::Collector::new(path),
        }
    }

    /// Visits a whole file and returns the findings and the facts for the crate-wide call graph.
    pub(crate) fn run_with_facts(mut self, file: &syn::File) -> (Vec<Diagnostic>, super::callgraph::FileFacts) {
        self.visit_file(file);
        self.keep_type_facts();
        (self.diagnostics, self.facts.finish())
    }

    /// Enters the file's module scope: its names and `use`s, collected from `items` (all the file's
    /// top-level items, or their skeletons when the file is visited in chunks, see `rust::chunks`).
    pub(crate) fn begin_file(&mut self, items: &[syn::Item]) {
        self.semantic.push_module(None, items);
    }

    /// Visits top-level items of the file, between [`Checker::begin_file`] and [`Checker::finish_file`].
    pub(crate) fn visit_items(&mut self, items: &[syn::Item]) {
        for item in items {
            self.visit_item(item);
        }
    }

    /// Forgets what is keyed by the address of a syntax node before the next chunk's tree is visited: the
    /// previous chunk's tree is dropped, and its addresses may be reused.
    pub(crate) fn between_chunks(&mut self) {
        self.loops.forget_nodes();
        self.thread_loops.forget_nodes();
        self.await_target = None;
        self.closure_roles.clear();
        self.block_flavors.clear();
    }

    /// Runs the rules' file-end hooks and leaves the file's module scope.
    fn end_file(&mut self) {
        let d = self.dispatch;
        self.run_hooks(&d.file_ends, |r, cx| r.on_file_end(cx));
        self.semantic.pop_scope();
    }

    /// Ends a file visited in chunks and returns its findings and facts, as [`Checker::run_with_facts`] does.
    pub(crate) fn finish_file(mut self) -> (Vec<Diagnostic>, super::callgraph::FileFacts) {
        self.end_file();
        self.keep_type_facts();
        (self.diagnostics, self.facts.finish())
    }

    /// The file's type declarations into its facts, where the crate phase may need them (typed calls of other
    /// files).
    fn keep_type_facts(&mut self) {
        if self.dispatch.chains && self.dispatch.types {
            self.facts.set_types(self.semantic.type_facts());
        }
    }

    /// The call-graph facts of this file (rules record CPU-heavy evidence and deferred findings here).
    pub fn facts(&mut self) -> (&mut super::callgraph::Collector, &ContextStack) {
        (&mut self.facts, &self.context)
    }

    /// The file being checked.
    pub fn path(&self) -> &Path {
        self.path
    }

    /// The run's settings (thresholds in `settings().rust`).
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// The semantic model at the current point of the visit.
    pub fn semantic(&self) -> &SemanticModel {
        &self.semantic
    }

    /// The context stack at the current point of the visit.
    pub fn context(&self) -> &ContextStack {
        &self.context
    }

    /// A diagnostic of `rule` in this file, with the Clippy-equivalent note when the rule has one.
    pub fn diagnostic(&self, rule: &'static RuleMeta, span: Span, message: impl Into<String>) -> Diagnostic {
        let mut d = Diagnostic::new(rule, self.path, span, message);
        d.severity = self.settings.severity_of(rule);
        if let Some(eq) = rule.equivalent {
            d = d.with_note(format!("same as `{eq}`: enable one of the two"), None);
        }
        d
    }

    /// Records a finding.
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Reports `rule` at `span` if the current code runs on the async executor, with `help` and a note
    /// pointing at the enclosing async function, block or closure. Returns whether it reported.
    pub fn report_on_executor(
        &mut self,
        rule: &'static RuleMeta,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> bool {
        let Some(frame) = self.context.async_frame() else {
            // Blocking calls (rules declared `call_graph: Blocking`) in a sync function go into its call-graph
            // summary.
            if rule.call_graph == CallGraph::Blocking {
                let (message, help) = (message.into(), help.into());
                self.facts.on_block(&self.context, rule, span, &message, &help);
            }
            return false;
        };
        let note = (frame.executor_note(), frame.span());
        let d = self.diagnostic(rule, span, message).with_help(help).with_note(note.0, Some(note.1));
        self.report(d);
        true
    }

    // ---- visiting helpers ----

    /// Runs `hook` for the rules of `list` active here. The running rules are moved out of the checker for the
    /// loop (a hook gets the checker and its own rule's state, never another rule's), and back after it.
    fn run_hooks(&mut self, list: &[Hooked], mut hook: impl FnMut(&mut dyn FileRule, &mut Self)) {
        if list.is_empty() {
            return;
        }
        let mut rules = std::mem::take(&mut self.rules);
        for slot in super::rules::active(list, self.active) {
            hook(&mut *rules[slot], self);
        }
        self.rules = rules;
    }

    /// The rules with a prefilter word in the text of `span`.
    fn words_in(&self, span: proc_macro2::Span) -> super::rules::Slots {
        self.dispatch.words_in(span.byte_range())
    }

    fn enter_fn(&mut self, kind: FnBodyKind, attrs: &[Attribute], sig: &Signature, block: &Block) {
        let is_async = sig.asyncness.is_some();
        // In a sync function only the rules with a word in its text can fire (see `RustRule::prefilter`). One
        // with none of the words holds nothing for the active rules: skip it (most of a typical file), unless
        // the call graph needs its calls (see `Dispatch::chains`).
        let outer = self.active;
        if !is_async {
            let words = self.words_in(block.brace_token.span.join()) & self.dispatch.all;
            if words == 0 && !self.dispatch.chains && !self.dispatch.lock_fns {
                return;
            }
            self.active = self.dispatch.ungated | words;
        } else {
            self.active = self.dispatch.all;
        }
        let start = match &sig.asyncness {
            Some(a) => a.span,
            None => sig.fn_token.span,
        };
        let frame = Frame {
            kind: if is_async { FrameKind::AsyncFn } else { FrameKind::Fn },
            header: (start, sig.ident.span()),
            name: if is_async { Some(sig.ident.to_string()) } else { None },
            flavor: if is_async { attr_flavor(attrs) } else { RuntimeFlavor::Unknown },
        };
        let (key, is_method) = self.fn_key(kind, sig);
        let has_self = sig.receiver().is_some();
        let is_extern = sig.abi.is_some();
        self.facts.enter_fn(key, sig.ident.to_string(), is_method, has_self, is_async, is_extern, frame.span());
        self.context.push(frame);
        self.semantic.push_scope(ScopeKind::Fn);
        for input in &sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                let ty = if self.dispatch.types { self.semantic.type_from_syn(&pt.ty) } else { Ty::Unknown };
                self.semantic.bind_pat(&pt.pat, ty);
            }
        }
        let body = FnBody { kind, sig: Some(sig), attrs, block: Some(block), expr: None, is_async };
        let d = self.dispatch;
        self.run_hooks(&d.fns, |r, cx| r.on_fn(cx, &body));
        self.visit_block(block);
        self.run_hooks(&d.fn_exits, |r, cx| r.on_fn_exit(cx, &body));
        self.scope_exit();
        self.context.pop();
        self.facts.exit_fn();
        self.active = outer;
    }

    /// The qualified name of a function being entered, and whether it is a method.
    fn fn_key(&self, kind: FnBodyKind, sig: &Signature) -> (String, bool) {
        let name = sig.ident.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name);
        let is_method = matches!(kind, FnBodyKind::ImplMethod | FnBodyKind::TraitMethod);
        let owner = match self.semantic.self_ty().and_then(Ty::name) {
            Some(t) if is_method => t.to_string(),
            _ => self.semantic.module_path().join("::"),
        };
        (format!("{owner}::{name}"), is_method)
    }

    /// The type of a value bound by a pattern (`let`, `if let`, `while let`, `match`) and, when the type is
    /// only known crate-wide, the chain it comes from ([`Binding::chain`](super::semantic::Binding::chain)).
    fn scrutinee_type(&self, e: &Expr) -> (Ty, Option<Box<super::semantic::Chain>>) {
        if !self.dispatch.types {
            return (Ty::Unknown, None);
        }
        let ty = self.semantic.type_of(e);
        let chain = if ty == Ty::Unknown && self.dispatch.chains && matches!(e, Expr::Field(_) | Expr::MethodCall(_)) {
            super::types::receiver_chain(&self.semantic, e).map(Box::new)
        } else {
            None
        };
        (ty, chain)
    }

    /// Records a call to a crate-local function for the call graph.
    fn record_call(&mut self, callee: super::callgraph::Callee, span: Span) {
        self.facts.on_call(&self.context, callee, span);
    }

    fn scope_exit(&mut self) {
        let d = self.dispatch;
        if !d.scope_exits.is_empty() {
            let id = self.semantic.scope_id();
            self.run_hooks(&d.scope_exits, |r, cx| r.on_scope_exit(cx, id));
        }
        self.semantic.pop_scope();
    }

    fn mark_closures<'e>(&mut self, args: impl Iterator<Item = &'e Expr>, role: OffExecutor) {
        for a in args {
            if let Some(c) = closure_value(a)
                && c.asyncness.is_none()
            {
                self.closure_roles.push((addr(c), role));
            }
        }
    }

    fn handle_call(&mut self, call: &syn::ExprCall, awaited: bool) {
        let path = self.semantic.resolve_callee(&call.func);
        if let Some(p) = path.as_deref() {
            let role = match p {
                "tokio::task::spawn_blocking"
                | "async_std::task::spawn_blocking"
                | "smol::unblock"
                | "blocking::unblock"
                | "actix_web::web::block"
                | "actix_rt::task::spawn_blocking" => Some(OffExecutor::SpawnBlocking),
                "tokio::task::block_in_place" => Some(OffExecutor::BlockInPlace),
                // A runtime's own `spawn_blocking`/`unblock` called from inside that crate (`crate::task::…`).
                p if p.starts_with("crate::") && (p.ends_with("::spawn_blocking") || p.ends_with("::unblock")) => {
                    Some(OffExecutor::SpawnBlocking)
                }
                "std::thread::spawn" => Some(OffExecutor::Thread),
                "rayon::spawn" | "rayon::spawn_fifo" | "rayon::join" | "rayon::scope" | "rayon::scope_fifo" => {
                    Some(OffExecutor::Rayon)
                }
                _ => off_executor_by_name(p),
            };
            if let Some(role) = role {
                self.mark_closures(call.args.iter(), role);
            }
        }
        // An awaited call builds a future: blocking, if any, happens when it is polled, in code checked itself.
        if let Some(p) = path.as_deref()
            && self.semantic.linked(p)
        {
            let span = CallSite { expr: call, path: None, awaited }.span();
            let callee = super::callgraph::Callee::Path(p.to_string());
            if self.dispatch.lock_calls {
                self.facts.on_lock_call(&self.context, callee.clone(), span, false, awaited);
            }
            if !awaited {
                self.record_call(callee, span);
            }
        }
        let d = self.dispatch;
        if !d.calls.is_empty() {
            let site = CallSite { expr: call, path: path.as_deref(), awaited };
            self.run_hooks(&d.calls, |r, cx| r.on_call(cx, &site));
        }
    }

    fn handle_method_call(&mut self, call: &syn::ExprMethodCall, awaited: bool) {
        let d = self.dispatch;
        let has_closure = call.args.iter().any(|a| closure_value(a).is_some());
        let block_on = call.method == "block_on";
        if !has_closure && !block_on && d.method_calls.is_empty() && !d.lock_calls {
            return;
        }
        let method = call.method.to_string();
        let receiver =
            if d.types || block_on || has_closure { self.semantic.type_of(&call.receiver) } else { Ty::Unknown };
        if has_closure {
            let rayon_recv = receiver.starts_with("rayon::") || receiver_chain_is_parallel(&call.receiver);
            let role = match method.as_str() {
                "spawn_blocking" => Some(OffExecutor::SpawnBlocking),
                "spawn" | "spawn_scoped" | "spawn_unchecked" | "execute" if !rayon_recv => Some(OffExecutor::Thread),
                _ if rayon_recv => Some(OffExecutor::Rayon),
                _ => None,
            };
            if let Some(role) = role {
                self.mark_closures(call.args.iter(), role);
            }
        }
        if block_on {
            let flavor = match receiver.arg(0).and_then(Ty::name) {
                Some("current_thread") => RuntimeFlavor::CurrentThread,
                Some("multi_thread") => RuntimeFlavor::MultiThread,
                _ => RuntimeFlavor::Unknown,
            };
            if flavor != RuntimeFlavor::Unknown {
                for a in &call.args {
                    if let Expr::Async(b) = strip_parens(a) {
                        self.block_flavors.push((addr(b), flavor));
                    }
                }
            }
        }
        self.record_method_call(call, &method, &receiver, awaited);
        if d.chains
            && d.types
            && !awaited
            && super::types::WAIT_METHODS.contains(&method.as_str())
            && receiver.name().is_none_or(|n| self.semantic.linked(n))
            && self.context.in_async()
            && let Some((root, steps)) = super::types::receiver_chain(&self.semantic, &call.receiver)
        {
            // The receiver's type may be declared in another file: worked out at link time (issue 12).
            let span = MethodCallSite { expr: call, method: &method, receiver: &receiver, awaited }.span();
            self.facts.on_typed_call(&self.context, root, steps, &method, span);
        }
        if !d.method_calls.is_empty() {
            let site = MethodCallSite { expr: call, method: &method, receiver: &receiver, awaited };
            self.run_hooks(&d.method_calls, |r, cx| r.on_method_call(cx, &site));
        }
    }

    /// Records a method call for the call graph: on `self` (the `impl`'s type), on a receiver of a known
    /// crate type, or by name (resolved at link time when exactly one crate method has it).
    fn record_method_call(&mut self, call: &syn::ExprMethodCall, method: &str, receiver: &Ty, awaited: bool) {
        if awaited && !self.dispatch.lock_calls {
            return;
        }
        let recv = strip_parens(&call.receiver);
        let is_self = matches!(recv, Expr::Path(p) if p.path.is_ident("self"));
        let ty = if is_self {
            self.semantic.self_ty().and_then(Ty::name).map(str::to_string)
        } else {
            receiver.deref_guards().name().filter(|n| self.semantic.linked(n)).map(str::to_string)
        };
        if ty.is_none() && super::callgraph::AMBIGUOUS_METHODS.contains(&method) {
            return;
        }
        if ty.is_none() && receiver.name().is_some() && !is_self {
            // A receiver of a known type from outside the crate.
            return;
        }
        let span = MethodCallSite { expr: call, method, receiver, awaited }.span();
        let callee = super::callgraph::Callee::Method { name: method.to_string(), ty };
        if self.dispatch.lock_calls {
            self.facts.on_lock_call(&self.context, callee.clone(), span, is_self, awaited);
        }
        if !awaited {
            self.record_call(callee, span);
        }
    }

    /// Visits expressions and statements parsed out of a macro invocation.
    pub(crate) fn visit_macro_body(&mut self, body: &super::macros::MacroBody) {
        for e in &body.exprs {
            self.visit_expr(e);
        }
        if !body.stmts.is_empty() {
            self.semantic.push_block(&body.stmts);
            for s in &body.stmts {
                self.visit_stmt(s);
            }
            self.scope_exit();
        }
    }
}

/// Wrappers of the well-known off-executor entry points, recognised by name: `crate::loom::thread::spawn`,
/// `rt::spawn_blocking`, tokio's `asyncify`, `blocking::unblock`, `spawn_blocking_with(..)`.
fn off_executor_by_name(path: &str) -> Option<OffExecutor> {
    let mut segs = path.rsplit("::");
    let last = segs.next()?;
    let parent = segs.next();
    if last.starts_with("spawn_blocking") || last == "asyncify" || last == "unblock" || last == "run_blocking" {
        return Some(OffExecutor::SpawnBlocking);
    }
    if last == "block_in_place" {
        return Some(OffExecutor::BlockInPlace);
    }
    if (last == "spawn" || last == "spawn_unchecked") && parent == Some("thread") || last == "spawn_thread" {
        return Some(OffExecutor::Thread);
    }
    None
}

/// Whether a method-call receiver chain contains a rayon parallel-iterator method (`par_iter`, …).
fn receiver_chain_is_parallel(mut e: &Expr) -> bool {
    for _ in 0..16 {
        match strip_parens(e) {
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if name.starts_with("par_") || name.starts_with("into_par_") {
                    return true;
                }
                e = &m.receiver;
            }
            _ => return false,
        }
    }
    false
}

/// The runtime flavour an async fn's attributes select: `#[tokio::test]` is current-thread unless
/// `flavor = "multi_thread"`; `#[tokio::main]` is multi-thread unless `flavor = "current_thread"`; actix's
/// runtimes are current-thread.
fn attr_flavor(attrs: &[Attribute]) -> RuntimeFlavor {
    for attr in attrs {
        let segs: Vec<String> = attr.path().segments.iter().map(|s| s.ident.to_string()).collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let default = match segs.as_slice() {
            ["tokio", "test"] => RuntimeFlavor::CurrentThread,
            ["tokio", "main"] => RuntimeFlavor::MultiThread,
            ["actix_rt" | "actix_web" | "ntex", "main" | "test"] => return RuntimeFlavor::CurrentThread,
            _ => continue,
        };
        let mut flavor = default;
        if matches!(attr.meta, syn::Meta::List(_)) {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("flavor") {
                    let s: syn::LitStr = meta.value()?.parse()?;
                    flavor = match s.value().as_str() {
                        "current_thread" => RuntimeFlavor::CurrentThread,
                        "multi_thread" => RuntimeFlavor::MultiThread,
                        _ => default,
                    };
                } else if meta.input.peek(syn::Token![=]) {
                    let _: Expr = meta.value()?.parse()?;
                }
                Ok(())
            });
        }
        return flavor;
    }
    RuntimeFlavor::Unknown
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_file(&mut self, file: &'ast syn::File) {
        self.begin_file(&file.items);
        for item in &file.items {
            self.visit_item(item);
        }
        self.end_file();
    }

    fn visit_item(&mut self, item: &'ast syn::Item) {
        let d = self.dispatch;
        self.run_hooks(&d.items, |r, cx| r.on_item(cx, item));
        visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if let Some((_, items)) = &m.content {
            self.semantic.push_module(Some(&m.ident), items);
            for item in items {
                self.visit_item(item);
            }
            self.semantic.pop_scope();
        }
    }

    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {
        // Collected when the enclosing module or block is entered.
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        self.semantic.push_impl(&i.self_ty);
        for item in &i.items {
            self.visit_impl_item(item);
        }
        self.semantic.pop_impl();
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.enter_fn(FnBodyKind::Item, &f.attrs, &f.sig, &f.block);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.enter_fn(FnBodyKind::ImplMethod, &f.attrs, &f.sig, &f.block);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.enter_fn(FnBodyKind::TraitMethod, &f.attrs, &f.sig, block);
        }
    }

    fn visit_block(&mut self, b: &'ast Block) {
        self.semantic.push_block(&b.stmts);
        for s in &b.stmts {
            self.visit_stmt(s);
        }
        self.scope_exit();
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        let (mut ty, mut chain) = (Ty::Unknown, None);
        if let Some(init) = &l.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
            (ty, chain) = self.scrutinee_type(&init.expr);
        }
        self.semantic.bind_pat_chain(&l.pat, ty, chain);
        let d = self.dispatch;
        self.run_hooks(&d.locals, |r, cx| r.on_local(cx, l));
    }

    fn visit_expr(&mut self, e: &'ast Expr) {
        let awaited = self.await_target.is_some_and(|a| a == addr(e));
        if awaited {
            self.await_target = None;
        }
        let d = self.dispatch;
        // Every loop is judged once for the call graph's CPU-heavy summaries, whichever rules run here.
        if d.heavy_facts && matches!(e, Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_)) {
            let _ = super::heavy::loop_evidence(self, e);
        }
        self.run_hooks(&d.exprs, |r, cx| r.on_expr(cx, e));
        match e {
            Expr::Call(c) => self.handle_call(c, awaited),
            Expr::MethodCall(m) => self.handle_method_call(m, awaited),
            _ => {}
        }
        visit::visit_expr(self, e);
    }

    fn visit_expr_await(&mut self, a: &'ast syn::ExprAwait) {
        self.await_target = Some(addr(strip_parens(&a.base)));
        self.visit_expr(&a.base);
        self.await_target = None;
        let d = self.dispatch;
        self.run_hooks(&d.awaits, |r, cx| r.on_await(cx, a));
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        let key = addr(c);
        let role = self.closure_roles.iter().position(|(k, _)| *k == key).map(|i| self.closure_roles.swap_remove(i).1);
        let is_async = c.asyncness.is_some();
        let kind = match (is_async, role) {
            (true, _) => FrameKind::AsyncClosure,
            (false, Some(r)) => FrameKind::OffExecutor(r),
            (false, None) => FrameKind::Closure,
        };
        let start = match &c.asyncness {
            Some(a) => a.span,
            None => c.or1_token.span,
        };
        let frame = Frame { kind, header: (start, c.or2_token.span), name: None, flavor: RuntimeFlavor::Unknown };
        self.context.push(frame);
        let outer = self.active;
        if is_async {
            self.active = self.dispatch.all;
        }
        self.semantic.push_scope(ScopeKind::Closure);
        for p in &c.inputs {
            self.semantic.bind_pat(p, Ty::Unknown);
        }
        let body = FnBody {
            kind: FnBodyKind::Closure,
            sig: None,
            attrs: &c.attrs,
            block: None,
            expr: Some(&c.body),
            is_async,
        };
        let d = self.dispatch;
        self.run_hooks(&d.fns, |r, cx| r.on_fn(cx, &body));
        self.visit_expr(&c.body);
        self.run_hooks(&d.fn_exits, |r, cx| r.on_fn_exit(cx, &body));
        self.scope_exit();
        self.context.pop();
        self.active = outer;
    }

    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        let key = addr(a);
        let flavor = self
            .block_flavors
            .iter()
            .position(|(k, _)| *k == key)
            .map_or(RuntimeFlavor::Unknown, |i| self.block_flavors.swap_remove(i).1);
        let frame =
            Frame { kind: FrameKind::AsyncBlock, header: (a.async_token.span, a.async_token.span), name: None, flavor };
        self.context.push(frame);
        // Async code: every rule runs, whatever the words of the enclosing sync function.
        let outer = std::mem::replace(&mut self.active, self.dispatch.all);
        let body = FnBody {
            kind: FnBodyKind::AsyncBlock,
            sig: None,
            attrs: &a.attrs,
            block: Some(&a.block),
            expr: None,
            is_async: true,
        };
        let d = self.dispatch;
        self.run_hooks(&d.fns, |r, cx| r.on_fn(cx, &body));
        self.visit_block(&a.block);
        self.run_hooks(&d.fn_exits, |r, cx| r.on_fn_exit(cx, &body));
        self.context.pop();
        self.active = outer;
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        let (ty, chain) = self.scrutinee_type(&m.expr);
        for arm in &m.arms {
            self.semantic.push_scope(ScopeKind::Block);
            self.semantic.bind_pat_chain(&arm.pat, ty.clone(), chain.clone());
            if let Some((_, guard)) = &arm.guard {
                self.visit_expr(guard);
            }
            self.visit_expr(&arm.body);
            self.scope_exit();
        }
    }

    fn visit_expr_let(&mut self, l: &'ast syn::ExprLet) {
        self.visit_expr(&l.expr);
        let (ty, chain) = self.scrutinee_type(&l.expr);
        self.semantic.bind_pat_chain(&l.pat, ty, chain);
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.semantic.push_scope(ScopeKind::Block);
        self.visit_expr(&i.cond);
        self.visit_block(&i.then_branch);
        self.scope_exit();
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.semantic.push_scope(ScopeKind::Block);
        self.visit_expr(&w.cond);
        self.visit_block(&w.body);
        self.scope_exit();
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        let ty = if self.dispatch.types { super::types::element_of(&self.semantic, &f.expr) } else { Ty::Unknown };
        self.semantic.push_scope(ScopeKind::Block);
        self.semantic.bind_pat(&f.pat, ty);
        self.visit_block(&f.body);
        self.scope_exit();
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if self.macro_depth >= 32 {
            return;
        }
        // Re-parsing a macro body costs a copy of its tokens: outside async code, skip bodies that hold no word of
        // a rule active here.
        if !self.context.in_async() && self.words_in(mac.delimiter.span().join()) & self.active == 0 {
            return;
        }
        if let Some(body) = super::macros::parse(mac) {
            self.macro_depth += 1;
            self.visit_macro_body(&body);
            self.macro_depth -= 1;
        }
    }

    fn visit_attribute(&mut self, _: &'ast Attribute) {}
}

#[cfg(test)]
mod tests {
    //! The rule interface as a rule author sees it: hooks fire in source order with the semantic model and
    //! context stack in the state the documentation promises.

    use std::path::Path;

    use super::*;
    use crate::registry::Rule;
    use crate::rust::rules::{
        DynRule, OnAwait, OnCall, OnFileEnd, OnFn, OnFnExit, OnLocal, OnMethodCall, OnScopeExit, RustRule,
        spin_without_hint,
    };

    /// Test-only: records the hook events in its state, and reports them at the end of the file (as a rule
    /// without properties: CA413's identity).
    struct Probe;

    impl RustRule for Probe {
        type FileState = Vec<String>;
        fn meta(&self) -> &'static RuleMeta {
            &spin_without_hint::META
        }
    }
    impl OnCall for Probe {
        fn on_call(&self, cx: &mut Checker<'_>, ev: &mut Vec<String>, call: &CallSite<'_>) {
            ev.push(format!("call {} async={}", call.path.unwrap_or("?"), cx.context().in_async()));
        }
    }
    impl OnMethodCall for Probe {
        fn on_method_call(&self, _: &mut Checker<'_>, ev: &mut Vec<String>, call: &MethodCallSite<'_>) {
            ev.push(format!("method {} on {:?} awaited={}", call.method, call.receiver.name(), call.awaited));
        }
    }
    impl OnFn for Probe {
        fn on_fn(&self, _: &mut Checker<'_>, ev: &mut Vec<String>, body: &FnBody<'_>) {
            ev.push(format!("enter {:?} async={}", body.kind, body.is_async));
        }
    }
    impl OnFnExit for Probe {
        fn on_fn_exit(&self, _: &mut Checker<'_>, ev: &mut Vec<String>, body: &FnBody<'_>) {
            ev.push(format!("exit {:?}", body.kind));
        }
    }
    impl OnLocal for Probe {
        fn on_local(&self, cx: &mut Checker<'_>, ev: &mut Vec<String>, local: &syn::Local) {
            let syn::Pat::Ident(p) = &local.pat else { return };
            let b = cx.semantic().local(&p.ident.to_string()).cloned();
            ev.push(format!(
                "let {} : {:?} scope={}",
                p.ident,
                b.as_ref().and_then(|b| b.ty.name().map(str::to_string)),
                b.map_or(0, |b| b.scope)
            ));
        }
    }
    impl OnAwait for Probe {
        fn on_await(&self, _: &mut Checker<'_>, ev: &mut Vec<String>, _: &syn::ExprAwait) {
            ev.push("await".into());
        }
    }
    impl OnScopeExit for Probe {
        fn on_scope_exit(&self, _: &mut Checker<'_>, ev: &mut Vec<String>, scope: usize) {
            ev.push(format!("scope_exit {scope}"));
        }
    }
    impl OnFileEnd for Probe {
        fn on_file_end(&self, cx: &mut Checker<'_>, ev: &mut Vec<String>) {
            let d = cx.diagnostic(self.meta(), Span::default(), ev.join("\n"));
            cx.report(d);
        }
    }

    static PROBE_RULE: &dyn DynRule =
        crate::register_rust_rule!(Probe, Rule::Rust(crate::rust::rules::Id::SpinWithoutHint));

    fn events(src: &str) -> Vec<String> {
        let settings = Settings::only(&[&spin_without_hint::META]);
        let d = crate::rust::analyze_with_rules(Path::new("src/lib.rs"), src, &settings, &[PROBE_RULE]);
        assert_eq!(d.len(), 1, "{d:?}");
        d[0].message.lines().map(str::to_string).collect()
    }

    #[test]
    fn hooks_fire_in_order_with_scopes_types_and_awaits() {
        let ev = events(
            "use std::sync::Mutex;
             async fn f(m: &Mutex<u32>) {
                 let g = m.lock().unwrap();
                 {
                     let h = std::fs::File::open(p)?;
                 }
                 tokio::time::sleep(d).await;
                 std::thread::spawn(|| {});
             }",
        );
        let expected = [
            "enter Item async=true",
            // Pre-order: the outer call before the calls in its receiver.
            "method unwrap on Some(\"std::sync::MutexGuard\") awaited=false",
            "method lock on Some(\"std::sync::Mutex\") awaited=false",
            "let g : Some(\"std::sync::MutexGuard\") scope=2",
            "call std::fs::File::open async=true",
            "let h : Some(\"std::fs::File\") scope=3",
            "scope_exit 3",
            "call tokio::time::sleep async=true",
            "await",
            "call std::thread::spawn async=true",
            "enter Closure async=false",
            // A body's block ends, then the body, then its parameters' scope.
            "scope_exit 4",
            "exit Closure",
            "scope_exit 3",
            "scope_exit 2",
            "exit Item",
            "scope_exit 1",
        ];
        assert_eq!(ev, expected, "\n{}", ev.join("\n"));
    }

    #[test]
    fn awaited_method_calls_are_marked() {
        let ev = events("async fn f(rx: &mut tokio::sync::mpsc::Receiver<u8>) { rx.recv().await; rx.try_recv(); }");
        assert!(
            ev.contains(&"method recv on Some(\"tokio::sync::mpsc::Receiver\") awaited=true".to_string()),
            "{ev:?}"
        );
        assert!(ev.contains(&"method try_recv on Some(\"tokio::sync::mpsc::Receiver\") awaited=false".to_string()));
    }
}
