//! Our own small Python syntax tree: the subset of Python the concurrency rules look at, borrowed from the
//! source, plus byte-offset → line/column conversion ([`LineIndex`]).
//!
//! Nothing here depends on ruff: [`super::parse`] is the only module that sees ruff's crates and converts their
//! tree into this one, so a breaking change upstream is fixed in one file. Constructs the rules do not care about
//! (`match`, `assert`, f-strings, slices, `yield`, boolean operators, …) keep their sub-expressions and nested
//! statements in the generic [`StmtKind::Other`] / [`ExprKind::Other`] so no call is ever lost.

use crate::diagnostic::{Location, Span};

/// A half-open byte range of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Range {
    /// Byte offset of the first character.
    pub start: u32,
    /// Byte offset one past the last character.
    pub end: u32,
}

impl Range {
    /// A range from two byte offsets.
    pub const fn new(start: u32, end: u32) -> Self {
        Range { start, end }
    }

    /// Whether `other` lies inside this range.
    pub fn contains(&self, other: Range) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// A parsed module.
#[derive(Debug, Default)]
pub struct Module<'a> {
    /// Top-level statements.
    pub body: Vec<Stmt<'a>>,
}

/// A statement with its range.
#[derive(Debug)]
pub struct Stmt<'a> {
    /// Where it is.
    pub range: Range,
    /// What it is.
    pub kind: StmtKind<'a>,
}

/// The statements the rules distinguish.
#[derive(Debug)]
pub enum StmtKind<'a> {
    /// `def` / `async def`.
    FunctionDef(Box<FunctionDef<'a>>),
    /// `class`.
    ClassDef(Box<ClassDef<'a>>),
    /// `import a.b as c, d`.
    Import(Vec<Alias<'a>>),
    /// `from m import a as b` (`level` counts leading dots).
    ImportFrom {
        /// The module after `from`, without the dots.
        module: Option<&'a str>,
        /// Leading dots of a relative import.
        level: u32,
        /// The imported names.
        names: Vec<Alias<'a>>,
    },
    /// `a = b = value`, `a: T = value` (`value` is `None` for a bare annotation).
    Assign {
        /// Every target.
        targets: Vec<Expr<'a>>,
        /// The assigned value.
        value: Option<Expr<'a>>,
        /// The annotation of `a: T = value` (not an evaluated expression the rules walk).
        annotation: Option<Expr<'a>>,
    },
    /// `target op= value`.
    AugAssign {
        /// The updated target.
        target: Expr<'a>,
        /// The operator.
        op: BinOp,
        /// The right-hand side.
        value: Expr<'a>,
    },
    /// An expression statement (its value is dropped).
    Expr(Expr<'a>),
    /// `return value`.
    Return(Option<Expr<'a>>),
    /// `for` / `async for`.
    For {
        /// `async for`.
        is_async: bool,
        /// The loop variable(s).
        target: Expr<'a>,
        /// The iterable.
        iter: Expr<'a>,
        /// The loop body.
        body: Vec<Stmt<'a>>,
        /// The `else:` block.
        orelse: Vec<Stmt<'a>>,
    },
    /// `while test:`.
    While {
        /// The condition.
        test: Expr<'a>,
        /// The loop body.
        body: Vec<Stmt<'a>>,
        /// The `else:` block.
        orelse: Vec<Stmt<'a>>,
    },
    /// `if test:`; an `elif` chain is a nested `If` in `orelse`.
    If {
        /// The condition.
        test: Expr<'a>,
        /// The `if` block.
        body: Vec<Stmt<'a>>,
        /// The `elif`/`else` blocks.
        orelse: Vec<Stmt<'a>>,
    },
    /// `with` / `async with`.
    With {
        /// `async with`.
        is_async: bool,
        /// The context managers.
        items: Vec<WithItem<'a>>,
        /// The block.
        body: Vec<Stmt<'a>>,
    },
    /// `try` with all its blocks (handler bodies in order).
    Try {
        /// The `try:` block.
        body: Vec<Stmt<'a>>,
        /// Each `except` block's statements.
        handlers: Vec<Vec<Stmt<'a>>>,
        /// The `else:` block.
        orelse: Vec<Stmt<'a>>,
        /// The `finally:` block.
        finalbody: Vec<Stmt<'a>>,
    },
    /// `global a, b`.
    Global(Vec<&'a str>),
    /// `nonlocal a, b`.
    Nonlocal(Vec<&'a str>),
    /// Anything else (`pass`, `raise`, `assert`, `del`, `match`, `type`, …): its expressions and nested
    /// statements, in source order.
    Other {
        /// Expressions directly in the statement.
        exprs: Vec<Expr<'a>>,
        /// Statements nested in it (`match` case bodies).
        body: Vec<Stmt<'a>>,
    },
}

/// A function definition.
#[derive(Debug)]
pub struct FunctionDef<'a> {
    /// Its name.
    pub name: &'a str,
    /// The range of the name.
    pub name_range: Range,
    /// `async def`.
    pub is_async: bool,
    /// Parameter names, in order (including `*args` and `**kwargs`).
    pub params: Vec<&'a str>,
    /// Default values and the return annotation (evaluated where the `def` runs).
    pub defaults: Vec<Expr<'a>>,
    /// Whether the last of `defaults` is the return annotation (`-> T`); see [`FunctionDef::returns`].
    pub has_returns: bool,
    /// Parameter annotations, by parameter name (types of the parameters; not walked as code).
    pub annotations: Vec<(&'a str, Expr<'a>)>,
    /// Decorator expressions.
    pub decorators: Vec<Expr<'a>>,
    /// The body.
    pub body: Vec<Stmt<'a>>,
}

impl<'a> FunctionDef<'a> {
    /// The return annotation (`-> T`), if any.
    #[must_use]
    pub fn returns(&self) -> Option<&Expr<'a>> {
        if self.has_returns { self.defaults.last() } else { None }
    }

    /// The annotation of parameter `name`, if any.
    #[must_use]
    pub fn annotation(&self, name: &str) -> Option<&Expr<'a>> {
        self.annotations.iter().find(|(p, _)| *p == name).map(|(_, a)| a)
    }
}

/// A class definition.
#[derive(Debug)]
pub struct ClassDef<'a> {
    /// Its name.
    pub name: &'a str,
    /// Base classes and keyword arguments (`metaclass=`), as expressions.
    pub bases: Vec<Expr<'a>>,
    /// Decorator expressions.
    pub decorators: Vec<Expr<'a>>,
    /// The body.
    pub body: Vec<Stmt<'a>>,
}

/// One name of an import.
#[derive(Debug)]
pub struct Alias<'a> {
    /// The imported (dotted) name.
    pub name: &'a str,
    /// `as` name.
    pub asname: Option<&'a str>,
    /// Where it is.
    pub range: Range,
}

/// One `with` item.
#[derive(Debug)]
pub struct WithItem<'a> {
    /// The context manager expression.
    pub context: Expr<'a>,
    /// The `as` target.
    pub var: Option<Expr<'a>>,
}

/// An expression with its range.
#[derive(Debug)]
pub struct Expr<'a> {
    /// Where it is.
    pub range: Range,
    /// What it is.
    pub kind: ExprKind<'a>,
}

/// Arithmetic and bitwise operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mult,
    /// `@`
    MatMult,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `**`
    Pow,
    /// `<<`
    LShift,
    /// `>>`
    RShift,
    /// `|`
    BitOr,
    /// `^`
    BitXor,
    /// `&`
    BitAnd,
    /// `//`
    FloorDiv,
}

/// Comparison operators the rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    NotEq,
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `<`, `<=`, `>`, `>=`, `is`, `is not`
    Other,
}

/// The expressions the rules distinguish.
#[derive(Debug)]
pub enum ExprKind<'a> {
    /// A name.
    Name(&'a str),
    /// `value.attr`.
    Attribute {
        /// The object.
        value: Box<Expr<'a>>,
        /// The attribute name.
        attr: &'a str,
    },
    /// A call.
    Call(Box<Call<'a>>),
    /// `lambda params: body`.
    Lambda {
        /// Parameter names.
        params: Vec<&'a str>,
        /// The body.
        body: Box<Expr<'a>>,
    },
    /// `await value`.
    Await(Box<Expr<'a>>),
    /// An integer literal (`None` when it does not fit in an `i64`).
    Int(Option<i64>),
    /// A float literal.
    Float(f64),
    /// A string literal's value.
    Str(&'a str),
    /// `None`.
    NoneLiteral,
    /// Any other literal (`True`, `...`, bytes, complex).
    Literal,
    /// `left op right`.
    BinOp {
        /// The operator.
        op: BinOp,
        /// Left operand.
        left: Box<Expr<'a>>,
        /// Right operand.
        right: Box<Expr<'a>>,
    },
    /// `-x`, `not x`, `~x`.
    Unary(Box<Expr<'a>>),
    /// `left op1 c1 op2 c2 …`.
    Compare {
        /// First operand.
        left: Box<Expr<'a>>,
        /// The operators.
        ops: Vec<CmpOp>,
        /// The other operands.
        comparators: Vec<Expr<'a>>,
    },
    /// `value[slice]`.
    Subscript {
        /// The subscripted object.
        value: Box<Expr<'a>>,
        /// The index.
        slice: Box<Expr<'a>>,
    },
    /// A list, set or dict comprehension or a generator expression.
    Comprehension {
        /// The element expressions (key and value for a dict comprehension).
        elts: Vec<Expr<'a>>,
        /// The `for … in … if …` clauses.
        generators: Vec<Comprehension<'a>>,
    },
    /// A tuple, list, set or dict display (a dict's keys and values in order).
    Sequence(Vec<Expr<'a>>),
    /// `yield` / `yield from`: its operand, if any.
    Yield(Vec<Expr<'a>>),
    /// Any other expression: its direct sub-expressions in source order.
    Other(Vec<Expr<'a>>),
}

/// A call's parts.
#[derive(Debug)]
pub struct Call<'a> {
    /// The callee.
    pub func: Expr<'a>,
    /// Positional arguments (a `*args` argument appears as an `Other` wrapping it).
    pub args: Vec<Expr<'a>>,
    /// Keyword arguments (`arg` is `None` for `**kwargs`).
    pub keywords: Vec<Keyword<'a>>,
}

impl<'a> Call<'a> {
    /// The keyword argument named `name`.
    pub fn keyword(&self, name: &str) -> Option<&Expr<'a>> {
        self.keywords.iter().find(|k| k.arg == Some(name)).map(|k| &k.value)
    }

    /// The argument at `pos`, or the keyword `name`.
    pub fn arg(&self, pos: usize, name: &str) -> Option<&Expr<'a>> {
        self.keyword(name).or_else(|| self.args.get(pos))
    }
}

/// A keyword argument.
#[derive(Debug)]
pub struct Keyword<'a> {
    /// Its name (`None` for `**kwargs`).
    pub arg: Option<&'a str>,
    /// Its value.
    pub value: Expr<'a>,
}

/// One `for … in … if …` clause of a comprehension.
#[derive(Debug)]
pub struct Comprehension<'a> {
    /// The loop variable(s).
    pub target: Expr<'a>,
    /// The iterable.
    pub iter: Expr<'a>,
    /// The `if` filters.
    pub ifs: Vec<Expr<'a>>,
    /// `async for`.
    pub is_async: bool,
}

impl<'a> Expr<'a> {
    /// Calls `f` on each direct sub-expression, in source order. Lambda bodies are included.
    pub fn for_each_child<'s, F: FnMut(&'s Expr<'a>) + ?Sized>(&'s self, f: &mut F) {
        match &self.kind {
            ExprKind::Name(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::NoneLiteral
            | ExprKind::Literal => {}
            ExprKind::Attribute { value, .. } | ExprKind::Await(value) | ExprKind::Unary(value) => f(value),
            ExprKind::Call(call) => {
                f(&call.func);
                call.args.iter().for_each(&mut *f);
                call.keywords.iter().for_each(|k| f(&k.value));
            }
            ExprKind::Lambda { body, .. } => f(body),
            ExprKind::BinOp { left, right, .. } => {
                f(left);
                f(right);
            }
            ExprKind::Compare { left, comparators, .. } => {
                f(left);
                comparators.iter().for_each(f);
            }
            ExprKind::Subscript { value, slice } => {
                f(value);
                f(slice);
            }
            ExprKind::Comprehension { elts, generators } => {
                for g in generators {
                    f(&g.iter);
                    f(&g.target);
                    g.ifs.iter().for_each(&mut *f);
                }
                elts.iter().for_each(f);
            }
            ExprKind::Sequence(items) | ExprKind::Yield(items) | ExprKind::Other(items) => items.iter().for_each(f),
        }
    }

    /// The call, if this is one.
    pub fn as_call(&self) -> Option<&Call<'a>> {
        match &self.kind {
            ExprKind::Call(c) => Some(c),
            _ => None,
        }
    }

    /// The name, if this is a bare name.
    pub fn as_name(&self) -> Option<&'a str> {
        match self.kind {
            ExprKind::Name(n) => Some(n),
            _ => None,
        }
    }

    /// The dotted text of a name or attribute chain (`self.pool`, `a.b.c`), or `None` for anything else.
    pub fn dotted(&self) -> Option<String> {
        // Measured first, so the text is allocated once.
        let mut len = 0;
        let mut e = self;
        loop {
            match &e.kind {
                ExprKind::Name(n) => break len += n.len(),
                ExprKind::Attribute { value, attr } => {
                    len += attr.len() + 1;
                    e = value;
                }
                _ => return None,
            }
        }
        let mut text = String::with_capacity(len);
        self.push_dotted(&mut text);
        Some(text)
    }

    /// Appends the text of a name or attribute chain ([`Expr::dotted`]).
    fn push_dotted(&self, text: &mut String) {
        match &self.kind {
            ExprKind::Name(n) => text.push_str(n),
            ExprKind::Attribute { value, attr } => {
                value.push_dotted(text);
                text.push('.');
                text.push_str(attr);
            }
            _ => {}
        }
    }

    /// The integer value of a literal or a constant expression of literals (`10**6`, `1_000 * 1_000`, `1e6`).
    pub fn const_int(&self) -> Option<i64> {
        match &self.kind {
            ExprKind::Int(v) => *v,
            ExprKind::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18 => Some(*f as i64),
            ExprKind::BinOp { op, left, right } => {
                let (l, r) = (left.const_int()?, right.const_int()?);
                match op {
                    BinOp::Add => l.checked_add(r),
                    BinOp::Sub => l.checked_sub(r),
                    BinOp::Mult => l.checked_mul(r),
                    BinOp::Pow => u32::try_from(r).ok().and_then(|r| l.checked_pow(r)),
                    BinOp::FloorDiv => l.checked_div(r),
                    BinOp::LShift => u32::try_from(r).ok().and_then(|r| l.checked_shl(r)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl<'a> Stmt<'a> {
    /// Calls `f` on each expression directly in this statement (not in nested statements), in source order.
    /// A `def`'s decorators and defaults and a `class`'s bases count (they run where the statement runs).
    pub fn for_each_expr<'s, F: FnMut(&'s Expr<'a>) + ?Sized>(&'s self, f: &mut F) {
        match &self.kind {
            StmtKind::FunctionDef(d) => {
                d.decorators.iter().for_each(&mut *f);
                d.defaults.iter().for_each(f);
            }
            StmtKind::ClassDef(c) => {
                c.decorators.iter().for_each(&mut *f);
                c.bases.iter().for_each(f);
            }
            StmtKind::Import(_) | StmtKind::ImportFrom { .. } | StmtKind::Global(_) | StmtKind::Nonlocal(_) => {}
            StmtKind::Assign { targets, value, .. } => {
                value.iter().for_each(&mut *f);
                targets.iter().for_each(f);
            }
            StmtKind::AugAssign { target, value, .. } => {
                f(value);
                f(target);
            }
            StmtKind::Expr(e) => f(e),
            StmtKind::Return(e) => e.iter().for_each(f),
            StmtKind::For { target, iter, .. } => {
                f(iter);
                f(target);
            }
            StmtKind::While { test, .. } | StmtKind::If { test, .. } => f(test),
            StmtKind::With { items, .. } => {
                for i in items {
                    f(&i.context);
                    i.var.iter().for_each(&mut *f);
                }
            }
            StmtKind::Try { .. } => {}
            StmtKind::Other { exprs, .. } => exprs.iter().for_each(f),
        }
    }

    /// Calls `f` on each block of statements nested in this one (loop bodies, branches, handlers), but not the
    /// body of a nested `def` or `class`.
    pub fn for_each_block<'s, F: FnMut(&'s [Stmt<'a>]) + ?Sized>(&'s self, f: &mut F) {
        match &self.kind {
            StmtKind::For { body, orelse, .. }
            | StmtKind::While { body, orelse, .. }
            | StmtKind::If { body, orelse, .. } => {
                f(body);
                f(orelse);
            }
            StmtKind::With { body, .. } | StmtKind::Other { body, .. } => f(body),
            StmtKind::Try { body, handlers, orelse, finalbody } => {
                f(body);
                handlers.iter().for_each(|h| f(h));
                f(orelse);
                f(finalbody);
            }
            _ => {}
        }
    }
}

/// Calls `f` on every top-level expression of the statements of a function body, not entering nested `def`s
/// or classes.
pub fn walk_body_exprs<'s, 'a, F: FnMut(&'s Expr<'a>) + ?Sized>(body: &'s [Stmt<'a>], f: &mut F) {
    for s in body {
        if matches!(s.kind, StmtKind::FunctionDef(_) | StmtKind::ClassDef(_)) {
            continue;
        }
        s.for_each_expr(&mut *f);
        s.for_each_block(&mut |b| walk_body_exprs(b, &mut *f));
    }
}

/// Whether a function body contains `yield` (outside nested functions and lambdas): calling it only makes a
/// generator.
pub fn is_generator(body: &[Stmt<'_>]) -> bool {
    fn has_yield(e: &Expr<'_>) -> bool {
        match &e.kind {
            ExprKind::Yield(_) => true,
            ExprKind::Lambda { .. } => false,
            _ => {
                let mut hit = false;
                e.for_each_child(&mut |c| hit = hit || has_yield(c));
                hit
            }
        }
    }
    let mut hit = false;
    walk_body_exprs(body, &mut |e| hit = hit || has_yield(e));
    hit
}

/// Converts byte offsets into 1-based lines and 1-based character columns. The line starts are found on first
/// use: most modules never need a location.
#[derive(Debug)]
pub struct LineIndex<'s> {
    source: &'s str,
    /// Byte offset where each line starts.
    starts: std::cell::OnceCell<Vec<u32>>,
    ascii: std::cell::OnceCell<bool>,
}

impl<'s> LineIndex<'s> {
    /// An index of `source`'s line starts (`\n`, `\r\n` and lone `\r` end a line, as in Python).
    pub fn new(source: &'s str) -> Self {
        LineIndex { source, starts: std::cell::OnceCell::new(), ascii: std::cell::OnceCell::new() }
    }

    fn starts(&self) -> &[u32] {
        self.starts.get_or_init(|| {
            let mut starts = vec![0u32];
            if !self.source.contains('\r') {
                starts.extend(memchr::memchr_iter(b'\n', self.source.as_bytes()).map(|i| clamp_u32(i + 1)));
                return starts;
            }
            let bytes = self.source.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                match b {
                    b'\n' => starts.push(clamp_u32(i + 1)),
                    b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(clamp_u32(i + 1)),
                    _ => {}
                }
            }
            starts
        })
    }

    /// The source text of a byte range; empty when the range is not within the source or not on character
    /// boundaries.
    pub fn text(&self, r: Range) -> &'s str {
        self.source.get(r.start as usize..r.end as usize).unwrap_or_default()
    }

    /// The location of byte `offset` (clamped to the source, and moved back to a character boundary).
    pub fn location(&self, offset: u32) -> Location {
        let mut off = (offset as usize).min(self.source.len());
        while !self.source.is_char_boundary(off) {
            off -= 1;
        }
        let starts = self.starts();
        let line = starts.partition_point(|&s| s as usize <= off).max(1);
        let start = starts[line - 1] as usize;
        let ascii = *self.ascii.get_or_init(|| self.source.is_ascii());
        let column = if ascii { off - start } else { self.source[start..off].chars().count() };
        Location::new(line, column + 1)
    }

    /// The span of `range`.
    pub fn span(&self, range: Range) -> Span {
        Span::new(self.location(range.start), self.location(range.end))
    }

    /// The 1-based line of byte `offset`.
    pub fn line(&self, offset: u32) -> usize {
        self.location(offset).line
    }
}

fn clamp_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let src = "a = 1\nnom = \"héé\"; x()\r\ny\rz";
        let idx = LineIndex::new(src);
        assert_eq!(idx.location(0), Location::new(1, 1));
        assert_eq!(idx.location(6), Location::new(2, 1));
        let x = src.find("x()").unwrap() as u32;
        // `nom = "héé"; ` is 13 characters but 15 bytes.
        assert_eq!(idx.location(x), Location::new(2, 14));
        let y = src.find('y').unwrap() as u32;
        assert_eq!(idx.location(y), Location::new(3, 1));
        let z = src.find('z').unwrap() as u32;
        assert_eq!(idx.location(z), Location::new(4, 1));
        // Past the end and inside a multi-byte character: clamped, no panic.
        assert_eq!(idx.location(10_000).line, 4);
        let e = src.find('é').unwrap() as u32 + 1;
        assert_eq!(idx.location(e), Location::new(2, 9));
    }

    #[test]
    fn constant_folding() {
        let e = |kind| Expr { range: Range::default(), kind };
        let ten = || Box::new(e(ExprKind::Int(Some(10))));
        let pow = e(ExprKind::BinOp { op: BinOp::Pow, left: ten(), right: Box::new(e(ExprKind::Int(Some(6)))) });
        assert_eq!(pow.const_int(), Some(1_000_000));
        let huge = e(ExprKind::BinOp { op: BinOp::Pow, left: ten(), right: Box::new(e(ExprKind::Int(Some(400)))) });
        assert_eq!(huge.const_int(), None);
        assert_eq!(e(ExprKind::Float(1e7)).const_int(), Some(10_000_000));
    }
}
