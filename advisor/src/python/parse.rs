//! The one module that talks to ruff's parser crates (`ruff_python_parser`, `ruff_python_ast`,
//! `ruff_text_size`, pinned at `=0.0.10`): parse a file, convert ruff's tree into ours ([`super::ast`]), and turn a
//! parse error into a byte range and a message.
//!
//! ruff publishes these crates as internal ones with breaking changes in most releases; when upgrading, this is
//! the only file to fix. Everything else in the Python analysis reads [`super::ast`].
//!
//! Statements and expressions the rules do not distinguish are converted generically with ruff's own visitor
//! (their direct children are collected), so a call inside an f-string, a `match` case or a `yield` is never lost.

use std::cell::Cell;

use ruff_python_ast as ra;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_text_size::{Ranged, TextRange};

use super::ast::{
    Alias, BinOp, Call, ClassDef, CmpOp, Comprehension, Expr, ExprKind, FunctionDef, Keyword, Module, Range, Stmt,
    StmtKind, WithItem,
};
use super::chunks;
use crate::diagnostic::thousands;

/// Nesting below this depth is not converted (kept as an empty `Other`), so deeply nested input cannot exhaust
/// the stack of the conversion or of the rules that recurse over the tree.
const MAX_DEPTH: u32 = 200;

/// A parse error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub range: Range,
    /// The parser's message.
    pub message: String,
}

/// A parsed file: ruff's tree, which [`ParsedFile::module`] converts into ours (borrowing names and strings from
/// it), or, for a file parsed in chunks ([`parse_in`]), our tree already converted, with its strings in the
/// caller's [`Arena`].
pub struct ParsedFile<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Whole(ruff_python_parser::Parsed<ra::ModModule>),
    /// Taken by the first call of [`ParsedFile::module`] or [`ParsedFile::module_outline`].
    Chunked(Cell<Option<Module<'a>>>),
}

impl std::fmt::Debug for ParsedFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Whole(p) => f.debug_struct("ParsedFile").field("statements", &p.syntax().body.len()).finish(),
            Inner::Chunked(_) => f.debug_struct("ParsedFile").field("chunked", &true).finish(),
        }
    }
}

/// Where the names and strings of a file parsed in chunks live: each chunk's ruff tree is dropped as soon as it
/// is converted, so they are copied out of it.
#[derive(Default)]
pub struct Arena(bumpalo::Bump);

/// Parses a module whole. The first syntax error is returned as an error (ruff recovers and reports more, but a
/// file with an error is not analysed further).
pub fn parse(source: &str) -> Result<ParsedFile<'static>, SyntaxError> {
    guard(source)?;
    parse_whole(source)
}

/// Parses a module like [`parse`], with the same tree and the same errors; a file above
/// [`chunks::THRESHOLD`] is parsed in chunks cut at top-level statements ([`chunks`]), its names and strings
/// copied into `arena`, so the peak is one chunk's ruff tree beside our tree of the whole file (issue 11).
pub fn parse_in<'a>(source: &str, arena: &'a Arena) -> Result<ParsedFile<'a>, SyntaxError> {
    parse_with(source, arena, chunks::target(source.len()))
}

/// [`parse_in`] with chunks of at least `target` bytes (`None`: whole).
pub(crate) fn parse_with<'a>(
    source: &str,
    arena: &'a Arena,
    target: Option<usize>,
) -> Result<ParsedFile<'a>, SyntaxError> {
    guard(source)?;
    if let Some(target) = target
        && let Some(bounds) = chunks::bounds(source, target)
        && let Some(module) = convert_chunks(source, &bounds, arena)
    {
        return Ok(ParsedFile { inner: Inner::Chunked(Cell::new(Some(module))) });
    }
    // No cut, or a chunk that does not parse: the whole file gives the error (and its place) as before.
    parse_whole(source)
}

/// Refuses what the parser cannot take (too large, too deep).
fn guard(source: &str) -> Result<(), SyntaxError> {
    if source.len() > u32::MAX as usize {
        return Err(SyntaxError { range: Range::default(), message: "file is larger than 4 GiB".into() });
    }
    if let Some((range, message)) = too_deep(source) {
        return Err(SyntaxError { range, message });
    }
    Ok(())
}

fn parse_whole<'a>(source: &str) -> Result<ParsedFile<'a>, SyntaxError> {
    match ruff_python_parser::parse_module(source) {
        Ok(parsed) => Ok(ParsedFile { inner: Inner::Whole(parsed) }),
        Err(err) => Err(SyntaxError {
            range: range(err.location),
            message: crate::diagnostic::escape_controls(&err.error.to_string()),
        }),
    }
}

/// Our tree of the whole file from its chunks, each parsed alone and converted with its ranges moved by its
/// offset; `None` when a chunk does not parse.
fn convert_chunks<'a>(source: &str, bounds: &[std::ops::Range<usize>], arena: &'a Arena) -> Option<Module<'a>> {
    let mut body = Vec::new();
    for chunk in bounds {
        let parsed = ruff_python_parser::parse_module(&source[chunk.clone()]).ok()?;
        let cx = Copied { arena: &arena.0, base: u32::try_from(chunk.start).ok()? };
        body.extend(parsed.syntax().body.iter().map(|s| stmt(s, 1, cx)));
    }
    Some(Module { body })
}

/// How the conversion treats names, strings and ranges: borrowed from ruff's tree as they are ([`Borrowed`]), or
/// copied into an arena with ranges moved by a chunk's offset ([`Copied`]).
trait Cx<'c, 'a>: Copy {
    fn s(self, x: &'c str) -> &'a str;
    fn range(self, r: TextRange) -> Range;
}

#[derive(Clone, Copy)]
struct Borrowed;

impl<'c: 'a, 'a> Cx<'c, 'a> for Borrowed {
    fn s(self, x: &'c str) -> &'a str {
        x
    }
    fn range(self, r: TextRange) -> Range {
        range(r)
    }
}

#[derive(Clone, Copy)]
struct Copied<'a> {
    arena: &'a bumpalo::Bump,
    base: u32,
}

impl<'a> Cx<'_, 'a> for Copied<'a> {
    fn s(self, x: &str) -> &'a str {
        self.arena.alloc_str(x)
    }
    fn range(self, r: TextRange) -> Range {
        Range::new(self.base + r.start().to_u32(), self.base + r.end().to_u32())
    }
}

/// Brackets nested deeper than this make the file unanalysable (CPython's own parser stops at 200).
pub const MAX_BRACKET_DEPTH: usize = 200;
/// Chains of operators longer than this (`- - - … 1`, `a.b.b…`) make the file unanalysable: ruff's parser
/// recurses once per link (CPython refuses such lines too, as "too complex").
pub const MAX_CHAIN: usize = 1_000;

/// What makes the text too deep for the parser's stack (brackets past [`MAX_BRACKET_DEPTH`], a chain past
/// [`MAX_CHAIN`], measured by the Python scanner): where, and what.
fn too_deep(source: &str) -> Option<(Range, String)> {
    // Most files are far from both limits, which a quicker scan than the measure can tell.
    if super::lex::surely_within(source.as_bytes(), MAX_BRACKET_DEPTH, MAX_CHAIN) {
        return None;
    }
    let n = super::lex::nesting(source.as_bytes());
    let (at, what) = if n.brackets.count > MAX_BRACKET_DEPTH {
        (n.brackets.at, format!("brackets nested more than {MAX_BRACKET_DEPTH} deep"))
    } else if n.chain.count > MAX_CHAIN {
        (n.chain.at, format!("a chain of {} operators (more than {})", thousands(n.chain.count), thousands(MAX_CHAIN)))
    } else {
        return None;
    };
    let at = u32::try_from(at).unwrap_or(u32::MAX);
    Some((Range::new(at, at.saturating_add(1)), format!("too deeply nested to analyse safely: {what}")))
}

impl ParsedFile<'_> {
    /// Our tree, borrowing names and strings from ruff's (or from the arena). A file parsed in chunks gives its
    /// tree once: a second call returns an empty module.
    pub fn module(&self) -> Module<'_> {
        match &self.inner {
            Inner::Whole(p) => Module { body: stmts(&p.syntax().body, 0, Borrowed) },
            Inner::Chunked(m) => m.take().unwrap_or_default(),
        }
    }

    /// Our tree without the bodies of module-level classes (their names and bases stay): what the project
    /// phase needs of a module no rule reports on, whose module-level functions other modules may run.
    pub fn module_outline(&self) -> Module<'_> {
        let p = match &self.inner {
            Inner::Whole(p) => p,
            Inner::Chunked(m) => {
                let mut module = m.take().unwrap_or_default();
                for s in &mut module.body {
                    if let StmtKind::ClassDef(c) = &mut s.kind {
                        c.decorators = Vec::new();
                        c.body = Vec::new();
                    }
                }
                return module;
            }
        };
        let body = p
            .syntax()
            .body
            .iter()
            .map(|s| match s {
                ra::Stmt::ClassDef(c) => {
                    let bases = c
                        .arguments
                        .as_deref()
                        .map(|a| {
                            a.args
                                .iter()
                                .chain(a.keywords.iter().map(|k| &k.value))
                                .map(|x| expr(x, 1, Borrowed))
                                .collect()
                        })
                        .unwrap_or_default();
                    Stmt {
                        range: range(s.range()),
                        kind: StmtKind::ClassDef(Box::new(ClassDef {
                            name: c.name.as_str(),
                            bases,
                            decorators: Vec::new(),
                            body: Vec::new(),
                        })),
                    }
                }
                _ => stmt(s, 1, Borrowed),
            })
            .collect();
        Module { body }
    }
}

fn range(r: TextRange) -> Range {
    Range::new(r.start().to_u32(), r.end().to_u32())
}

fn stmts<'c, 'a, C: Cx<'c, 'a>>(body: &'c [ra::Stmt], depth: u32, cx: C) -> Vec<Stmt<'a>> {
    body.iter().map(|s| stmt(s, depth + 1, cx)).collect()
}

fn params<'c, 'a, C: Cx<'c, 'a>>(p: &'c ra::Parameters, cx: C) -> Vec<&'a str> {
    p.posonlyargs
        .iter()
        .chain(&p.args)
        .map(|a| cx.s(a.parameter.name.as_str()))
        .chain(p.vararg.iter().map(|a| cx.s(a.name.as_str())))
        .chain(p.kwonlyargs.iter().map(|a| cx.s(a.parameter.name.as_str())))
        .chain(p.kwarg.iter().map(|a| cx.s(a.name.as_str())))
        .collect()
}

fn stmt<'c, 'a, C: Cx<'c, 'a>>(s: &'c ra::Stmt, depth: u32, cx: C) -> Stmt<'a> {
    let r = cx.range(s.range());
    if depth > MAX_DEPTH {
        return Stmt { range: r, kind: StmtKind::Other { exprs: Vec::new(), body: Vec::new() } };
    }
    let e = |x: &'c ra::Expr| expr(x, depth, cx);
    let kind = match s {
        ra::Stmt::FunctionDef(f) => {
            let p = &f.parameters;
            let mut defaults: Vec<Expr<'_>> = p
                .posonlyargs
                .iter()
                .chain(&p.args)
                .chain(&p.kwonlyargs)
                .filter_map(|a| a.default.as_deref())
                .map(e)
                .collect();
            defaults.extend(f.returns.as_deref().map(e));
            let annotations = p
                .posonlyargs
                .iter()
                .chain(&p.args)
                .chain(&p.kwonlyargs)
                .filter_map(|a| Some((cx.s(a.parameter.name.as_str()), e(a.parameter.annotation.as_deref()?))))
                .collect();
            StmtKind::FunctionDef(Box::new(FunctionDef {
                name: cx.s(f.name.as_str()),
                name_range: cx.range(f.name.range),
                is_async: f.is_async,
                params: params(p, cx),
                has_returns: f.returns.is_some(),
                defaults,
                annotations,
                decorators: f.decorator_list.iter().map(|d| e(&d.expression)).collect(),
                body: stmts(&f.body, depth, cx),
            }))
        }
        ra::Stmt::ClassDef(c) => {
            let bases = c
                .arguments
                .as_deref()
                .map(|a| a.args.iter().chain(a.keywords.iter().map(|k| &k.value)).map(e).collect())
                .unwrap_or_default();
            StmtKind::ClassDef(Box::new(ClassDef {
                name: cx.s(c.name.as_str()),
                bases,
                decorators: c.decorator_list.iter().map(|d| e(&d.expression)).collect(),
                body: stmts(&c.body, depth, cx),
            }))
        }
        ra::Stmt::Import(i) => StmtKind::Import(i.names.iter().map(|a| alias(a, cx)).collect()),
        ra::Stmt::ImportFrom(i) => StmtKind::ImportFrom {
            module: i.module.as_ref().map(|m| cx.s(m.as_str())),
            level: i.level,
            names: i.names.iter().map(|a| alias(a, cx)).collect(),
        },
        ra::Stmt::Assign(a) => {
            StmtKind::Assign { targets: a.targets.iter().map(e).collect(), value: Some(e(&a.value)), annotation: None }
        }
        ra::Stmt::AnnAssign(a) => StmtKind::Assign {
            targets: vec![e(&a.target)],
            value: a.value.as_deref().map(e),
            annotation: Some(e(&a.annotation)),
        },
        ra::Stmt::AugAssign(a) => StmtKind::AugAssign { target: e(&a.target), op: binop(a.op), value: e(&a.value) },
        ra::Stmt::Expr(x) => StmtKind::Expr(e(&x.value)),
        ra::Stmt::Return(x) => StmtKind::Return(x.value.as_deref().map(e)),
        ra::Stmt::For(f) => StmtKind::For {
            is_async: f.is_async,
            target: e(&f.target),
            iter: e(&f.iter),
            body: stmts(&f.body, depth, cx),
            orelse: stmts(&f.orelse, depth, cx),
        },
        ra::Stmt::While(w) => {
            StmtKind::While { test: e(&w.test), body: stmts(&w.body, depth, cx), orelse: stmts(&w.orelse, depth, cx) }
        }
        ra::Stmt::If(i) => {
            // `elif`/`else` clauses become a chain of nested `If`s in `orelse`.
            let mut orelse: Vec<Stmt<'_>> = Vec::new();
            for clause in i.elif_else_clauses.iter().rev() {
                let body = stmts(&clause.body, depth, cx);
                orelse = match &clause.test {
                    Some(test) => {
                        vec![Stmt { range: cx.range(clause.range), kind: StmtKind::If { test: e(test), body, orelse } }]
                    }
                    None => body,
                };
            }
            StmtKind::If { test: e(&i.test), body: stmts(&i.body, depth, cx), orelse }
        }
        ra::Stmt::With(w) => StmtKind::With {
            is_async: w.is_async,
            items: w
                .items
                .iter()
                .map(|i| WithItem { context: e(&i.context_expr), var: i.optional_vars.as_deref().map(e) })
                .collect(),
            body: stmts(&w.body, depth, cx),
        },
        ra::Stmt::Try(t) => StmtKind::Try {
            body: stmts(&t.body, depth, cx),
            handlers: t
                .handlers
                .iter()
                .map(|h| match h {
                    ra::ExceptHandler::ExceptHandler(h) => stmts(&h.body, depth, cx),
                })
                .collect(),
            orelse: stmts(&t.orelse, depth, cx),
            finalbody: stmts(&t.finalbody, depth, cx),
        },
        ra::Stmt::Global(g) => StmtKind::Global(g.names.iter().map(|n| cx.s(n.as_str())).collect()),
        ra::Stmt::Nonlocal(g) => StmtKind::Nonlocal(g.names.iter().map(|n| cx.s(n.as_str())).collect()),
        other => {
            let mut c = Children::default();
            visitor::walk_stmt(&mut c, other);
            StmtKind::Other {
                exprs: c.exprs.into_iter().map(e).collect(),
                body: c.stmts.into_iter().map(|s| stmt(s, depth + 1, cx)).collect(),
            }
        }
    };
    Stmt { range: r, kind }
}

fn alias<'c, 'a, C: Cx<'c, 'a>>(a: &'c ra::Alias, cx: C) -> Alias<'a> {
    Alias { name: cx.s(a.name.as_str()), asname: a.asname.as_ref().map(|n| cx.s(n.as_str())), range: cx.range(a.range) }
}

fn binop(op: ra::Operator) -> BinOp {
    match op {
        ra::Operator::Add => BinOp::Add,
        ra::Operator::Sub => BinOp::Sub,
        ra::Operator::Mult => BinOp::Mult,
        ra::Operator::MatMult => BinOp::MatMult,
        ra::Operator::Div => BinOp::Div,
        ra::Operator::Mod => BinOp::Mod,
        ra::Operator::Pow => BinOp::Pow,
        ra::Operator::LShift => BinOp::LShift,
        ra::Operator::RShift => BinOp::RShift,
        ra::Operator::BitOr => BinOp::BitOr,
        ra::Operator::BitXor => BinOp::BitXor,
        ra::Operator::BitAnd => BinOp::BitAnd,
        ra::Operator::FloorDiv => BinOp::FloorDiv,
    }
}

fn cmpop(op: ra::CmpOp) -> CmpOp {
    match op {
        ra::CmpOp::Eq => CmpOp::Eq,
        ra::CmpOp::NotEq => CmpOp::NotEq,
        ra::CmpOp::In => CmpOp::In,
        ra::CmpOp::NotIn => CmpOp::NotIn,
        _ => CmpOp::Other,
    }
}

fn comprehensions<'c, 'a, C: Cx<'c, 'a>>(gens: &'c [ra::Comprehension], depth: u32, cx: C) -> Vec<Comprehension<'a>> {
    gens.iter()
        .map(|g| Comprehension {
            target: expr(&g.target, depth, cx),
            iter: expr(&g.iter, depth, cx),
            ifs: g.ifs.iter().map(|x| expr(x, depth, cx)).collect(),
            is_async: g.is_async,
        })
        .collect()
}

fn expr<'c, 'a, C: Cx<'c, 'a>>(x: &'c ra::Expr, depth: u32, cx: C) -> Expr<'a> {
    let r = cx.range(x.range());
    let depth = depth + 1;
    if depth > MAX_DEPTH {
        return Expr { range: r, kind: ExprKind::Other(Vec::new()) };
    }
    let e = |y: &'c ra::Expr| expr(y, depth, cx);
    let b = |y: &'c ra::Expr| Box::new(expr(y, depth, cx));
    let kind = match x {
        ra::Expr::Name(n) => ExprKind::Name(cx.s(n.id.as_str())),
        ra::Expr::Attribute(a) => ExprKind::Attribute { value: b(&a.value), attr: cx.s(a.attr.as_str()) },
        ra::Expr::Call(c) => ExprKind::Call(Box::new(Call {
            func: e(&c.func),
            args: c.arguments.args.iter().map(e).collect(),
            keywords: c
                .arguments
                .keywords
                .iter()
                .map(|k| Keyword { arg: k.arg.as_ref().map(|a| cx.s(a.as_str())), value: e(&k.value) })
                .collect(),
        })),
        ra::Expr::Lambda(l) => ExprKind::Lambda {
            params: l.parameters.as_deref().map(|p| params(p, cx)).unwrap_or_default(),
            body: b(&l.body),
        },
        ra::Expr::Await(a) => ExprKind::Await(b(&a.value)),
        ra::Expr::NumberLiteral(n) => match &n.value {
            ra::Number::Int(i) => ExprKind::Int(i.as_i64()),
            ra::Number::Float(f) => ExprKind::Float(*f),
            ra::Number::Complex { .. } => ExprKind::Literal,
        },
        ra::Expr::StringLiteral(s) if !s.value.is_implicit_concatenated() => ExprKind::Str(cx.s(s.value.to_str())),
        ra::Expr::BinOp(o) => ExprKind::BinOp { op: binop(o.op), left: b(&o.left), right: b(&o.right) },
        ra::Expr::UnaryOp(u) => ExprKind::Unary(b(&u.operand)),
        ra::Expr::Compare(c) => ExprKind::Compare {
            left: b(&c.left),
            ops: c.ops.iter().map(|o| cmpop(*o)).collect(),
            comparators: c.comparators.iter().map(e).collect(),
        },
        ra::Expr::Subscript(s) => ExprKind::Subscript { value: b(&s.value), slice: b(&s.slice) },
        ra::Expr::ListComp(c) => {
            ExprKind::Comprehension { elts: vec![e(&c.elt)], generators: comprehensions(&c.generators, depth, cx) }
        }
        ra::Expr::SetComp(c) => {
            ExprKind::Comprehension { elts: vec![e(&c.elt)], generators: comprehensions(&c.generators, depth, cx) }
        }
        ra::Expr::Generator(c) => {
            ExprKind::Comprehension { elts: vec![e(&c.elt)], generators: comprehensions(&c.generators, depth, cx) }
        }
        ra::Expr::DictComp(c) => ExprKind::Comprehension {
            elts: c.key.as_deref().map(e).into_iter().chain([e(&c.value)]).collect(),
            generators: comprehensions(&c.generators, depth, cx),
        },
        ra::Expr::List(l) => ExprKind::Sequence(l.elts.iter().map(e).collect()),
        ra::Expr::Tuple(t) => ExprKind::Sequence(t.elts.iter().map(e).collect()),
        ra::Expr::Set(s) => ExprKind::Sequence(s.elts.iter().map(e).collect()),
        ra::Expr::Dict(d) => {
            ExprKind::Sequence(d.items.iter().flat_map(|i| i.key.iter().chain([&i.value])).map(e).collect())
        }
        ra::Expr::NoneLiteral(_) => ExprKind::NoneLiteral,
        ra::Expr::BooleanLiteral(_)
        | ra::Expr::EllipsisLiteral(_)
        | ra::Expr::BytesLiteral(_)
        | ra::Expr::StringLiteral(_) => ExprKind::Literal,
        ra::Expr::Yield(y) => ExprKind::Yield(y.value.as_deref().map(e).into_iter().collect()),
        ra::Expr::YieldFrom(y) => ExprKind::Yield(vec![e(&y.value)]),
        other => {
            let mut c = Children::default();
            visitor::walk_expr(&mut c, other);
            ExprKind::Other(c.exprs.into_iter().map(e).collect())
        }
    };
    Expr { range: r, kind }
}

/// Collects the direct child statements and expressions of one node (ruff's visitor, without recursing).
#[derive(Default)]
struct Children<'a> {
    stmts: Vec<&'a ra::Stmt>,
    exprs: Vec<&'a ra::Expr>,
}

impl<'a> Visitor<'a> for Children<'a> {
    fn visit_stmt(&mut self, stmt: &'a ra::Stmt) {
        self.stmts.push(stmt);
    }
    fn visit_expr(&mut self, expr: &'a ra::Expr) {
        self.exprs.push(expr);
    }
    fn visit_annotation(&mut self, expr: &'a ra::Expr) {
        self.exprs.push(expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_the_constructs_rules_read() {
        let src = "import threading as t\nfrom a.b import c as d\nasync def f(x, *a, k=1, **kw):\n    await g(x, y=2)\n    match x:\n        case 1:\n            h()\n";
        let parsed = parse(src).unwrap();
        let m = parsed.module();
        assert_eq!(m.body.len(), 3);
        let StmtKind::Import(names) = &m.body[0].kind else { panic!("{:?}", m.body[0]) };
        assert_eq!((names[0].name, names[0].asname), ("threading", Some("t")));
        let StmtKind::FunctionDef(f) = &m.body[2].kind else { panic!() };
        assert!(f.is_async);
        assert_eq!(f.params, vec!["x", "a", "k", "kw"]);
        // The call inside the `match` case survives the generic conversion.
        let StmtKind::Other { body, .. } = &f.body[1].kind else { panic!("{:?}", f.body[1]) };
        assert!(!body.is_empty());
    }

    /// Issue 11: a NUL byte of a `.py` file was printed raw in the message.
    #[test]
    fn control_characters_in_syntax_errors_are_escaped() {
        for src in ["x = 1\0\n", "x = \x1b[31m\n"] {
            let err = parse(src).unwrap_err();
            assert!(!err.message.chars().any(char::is_control), "{:?}", err.message);
        }
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = parse("x = 1\ndef f(:\n").unwrap_err();
        assert!(err.range.start >= 6, "{err:?}");
        assert!(!err.message.is_empty());
    }

    #[test]
    fn deep_brackets_are_refused_not_overflowed() {
        let src = format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&src).is_err());
        // Brackets inside strings and comments do not count.
        let ok = format!("s = '{}'\n# {}\n", "(".repeat(500), "[".repeat(500));
        assert!(parse(&ok).is_ok());
    }

    /// Issue 11: `y = - - - … 1` and `a.b.b.b…` with ≈33,000 links overflowed ruff's parser. Past the limit they
    /// are refused with what and where; just under it they parse on a test thread's 2 MiB stack (a rayon
    /// worker's), in a debug build.
    #[test]
    fn long_operator_chains_are_refused_not_overflowed() {
        for src in [format!("y = {}1\n", "- ".repeat(33_000)), format!("x = 1\na{}\n", ".b".repeat(33_000))] {
            let err = parse(&src).unwrap_err();
            assert!(err.message.starts_with("too deeply nested to analyse safely: a chain of"), "{}", err.message);
            assert!(err.range.start > 0);
        }
        for src in [
            format!("y = {}1\n", "- ".repeat(MAX_CHAIN - 1)),
            format!("a{}\n", ".b".repeat(MAX_CHAIN)),
            format!("y = {}x\n", "not ".repeat(MAX_CHAIN - 1)),
        ] {
            let parsed = parse(&src).unwrap();
            let _ = parsed.module();
        }
    }
}
