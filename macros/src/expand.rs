//! Code generation of `#[profile_concurrency]`: validates the item and rewrites its body.
//!
//! - Synchronous functions get a guard as their first statement (`enter` returns it; its `Drop` records the call,
//!   so early `return`, `?` and panics are all recorded).
//! - `async fn` bodies become an `async move` block wrapped by `instrument`, which measures each poll.
//! - Functions returning `impl Future` have their body evaluated in a closure (so an early `return` still goes
//!   through the wrapper) and the resulting future wrapped by `instrument`.
//!
//! Everything generated is named by absolute path (`::conc_profiler::__private::…`, `::core::…`), so a user's
//! `type Result = ();` or a local `mod core` cannot break it.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{AttrStyle, Attribute, ItemFn, ReturnType, Signature, Type, TypeImplTrait, TypeParamBound};

use crate::args::{Args, Expect};

/// The whole expansion: `attr` are the options, `item` the annotated item.
///
/// On an error (in the options, or an item that cannot be instrumented) the item is still emitted unchanged beside
/// the error, so one mistake does not cascade into "cannot find function" errors at every call site.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(attr, item.clone()) {
        Ok(out) => out,
        Err(e) => {
            let err = e.into_compile_error();
            quote!(#err #item)
        }
    }
}

/// The expansion, or the first error.
pub fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: Args = syn::parse2(attr)?;
    let func = parse_fn(item)?;
    check(&func.sig)?;
    Ok(generate(&args, func))
}

/// Parses the item as a function with a body, or explains what it is instead.
fn parse_fn(item: TokenStream) -> syn::Result<ItemFn> {
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(f) => Ok(f),
        Err(fn_err) => {
            if let Ok(m) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
                return Err(syn::Error::new(
                    m.sig.ident.span(),
                    "#[profile_concurrency] needs a function body; put it on the implementations or on a default method",
                ));
            }
            match syn::parse2::<syn::Item>(item) {
                Ok(other) => Err(syn::Error::new(
                    item_span(&other),
                    "#[profile_concurrency] can only be applied to functions and methods",
                )),
                Err(_) => Err(fn_err),
            }
        }
    }
}

/// The span of an item's leading keyword (`struct`, `enum`, …), falling back to the whole item.
fn item_span(item: &syn::Item) -> Span {
    match item {
        syn::Item::Struct(s) => s.struct_token.span,
        syn::Item::Enum(e) => e.enum_token.span,
        syn::Item::Union(u) => u.union_token.span,
        syn::Item::Trait(t) => t.trait_token.span,
        syn::Item::Impl(i) => i.impl_token.span,
        syn::Item::Mod(m) => m.mod_token.span,
        syn::Item::Const(c) => c.const_token.span,
        syn::Item::Static(s) => s.static_token.span,
        syn::Item::Type(t) => t.type_token.span,
        syn::Item::Use(u) => u.use_token.span,
        other => other.span(),
    }
}

/// Rejects signatures the instrumentation cannot support.
fn check(sig: &Signature) -> syn::Result<()> {
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span,
            "#[profile_concurrency] cannot instrument a `const fn`: measuring needs run-time clocks",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new(v.span(), "#[profile_concurrency] cannot instrument a variadic function"));
    }
    Ok(())
}

/// How a non-`async` function's return type makes it a future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FutureReturn {
    /// Not a future: measured as a synchronous call.
    No,
    /// `impl Future<…> (+ …)`, without `Unpin`: the wrapper is returned as is.
    Impl,
    /// `impl Future<…> + Unpin`: the wrapper is boxed and pinned (a `Pin<Box<_>>` is `Unpin`).
    ImplUnpin,
    /// `Pin<Box<dyn Future…>>`, `BoxFuture<…>`, `LocalBoxFuture<…>` (also what `#[async_trait]` produces): the
    /// wrapper is boxed again and coerced to the declared type.
    Boxed,
}

/// Whether a trait bound names the trait `name` (by its last path segment).
fn bound_is(b: &TypeParamBound, name: &str) -> bool {
    match b {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    }
}

/// Classifies the return type of a non-`async` function.
fn future_return(sig: &Signature) -> FutureReturn {
    let ReturnType::Type(_, ty) = &sig.output else { return FutureReturn::No };
    match &**ty {
        Type::ImplTrait(TypeImplTrait { bounds, .. }) if bounds.iter().any(|b| bound_is(b, "Future")) => {
            if bounds.iter().any(|b| bound_is(b, "Unpin")) { FutureReturn::ImplUnpin } else { FutureReturn::Impl }
        }
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else { return FutureReturn::No };
            if last.ident == "BoxFuture" || last.ident == "LocalBoxFuture" {
                return FutureReturn::Boxed;
            }
            // `Pin<Box<dyn … Future …>>`
            if last.ident != "Pin" {
                return FutureReturn::No;
            }
            let Some(Type::Path(boxed)) = single_type_arg(last) else { return FutureReturn::No };
            let Some(b) = boxed.path.segments.last().filter(|b| b.ident == "Box") else { return FutureReturn::No };
            match single_type_arg(b) {
                Some(Type::TraitObject(o)) if o.bounds.iter().any(|b| bound_is(b, "Future")) => FutureReturn::Boxed,
                _ => FutureReturn::No,
            }
        }
        _ => FutureReturn::No,
    }
}

/// The only type argument of `Seg<T>`.
fn single_type_arg(seg: &syn::PathSegment) -> Option<&Type> {
    let syn::PathArguments::AngleBracketed(a) = &seg.arguments else { return None };
    let mut types = a.args.iter().filter_map(|g| match g {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let t = types.next()?;
    types.next().is_none().then_some(t)
}

/// Whether the return type is the never type `!`.
fn returns_never(sig: &Signature) -> bool {
    matches!(&sig.output, ReturnType::Type(_, ty) if matches!(&**ty, Type::Never(_)))
}

/// Whether a type mentions `impl Trait` anywhere (it cannot be written in a `let` annotation).
fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    syn::visit::Visit::visit_type(&mut f, ty);
    f.0
}

fn generate(args: &Args, func: ItemFn) -> TokenStream {
    let ItemFn { attrs, vis, sig, block } = func;
    let (inner_attrs, outer_attrs): (Vec<Attribute>, Vec<Attribute>) =
        attrs.into_iter().partition(|a| matches!(a.style, AttrStyle::Inner(_)));
    let krate = args.krate.as_ref().map(ToTokens::to_token_stream).unwrap_or_else(|| quote!(::conc_profiler));
    let ident = &sig.ident;
    let is_async = sig.asyncness.is_some();
    let fut_ret = if is_async { FutureReturn::No } else { future_return(&sig) };
    let impl_future = fut_ret != FutureReturn::No;

    let (name, custom) = match &args.name {
        Some(n) => (n.to_token_stream(), true),
        None => (syn::LitStr::new(&ident.to_string(), ident.span()).to_token_stream(), false),
    };
    let module = match &args.target {
        Some(t) => t.to_token_stream(),
        None => quote!(::core::module_path!()),
    };
    let kind = if is_async || impl_future { quote!(Async) } else { quote!(Sync) };
    let expect = match args.expect {
        Some((Expect::Cpu, span)) => {
            quote_spanned!(span=> ::core::option::Option::Some(#krate::__private::Expectation::Cpu))
        }
        Some((Expect::Io, span)) => {
            quote_spanned!(span=> ::core::option::Option::Some(#krate::__private::Expectation::Io))
        }
        None => quote!(::core::option::Option::None),
    };
    let line = quote_spanned!(ident.span()=> ::core::line!());
    let callsite = quote! {
        static __CONC_PROFILER_CALLSITE: #krate::__private::Callsite = #krate::__private::Callsite::new(
            #name,
            #custom,
            #module,
            ::core::file!(),
            #line,
            #krate::__private::Kind::#kind,
            #expect,
        );
    };
    let stmts = &block.stmts;

    let body = if is_async {
        let body = quote!(#(#stmts)*);
        match &sig.output {
            // `async fn … -> !`: the body never completes; `!` cannot be written as a type argument or a `let`
            // annotation on stable, so the awaited value is discarded and the tail marked unreachable.
            _ if returns_never(&sig) => quote! {
                #callsite
                #krate::__private::instrument(&__CONC_PROFILER_CALLSITE, async move { #body }).await;
                #[allow(unreachable_code)]
                ::core::unreachable!()
            },
            // The declared type is written where the compiler desugars `async fn` to: a first (never taken)
            // `return` fixes the block's output type, so `return x`, `?` and the tail are coerced to it as in the
            // original function (`&String` to `&str`, `Box<i32>` to `Box<dyn Display>`, errors `?`-converted).
            ReturnType::Type(_, ty) if !contains_impl_trait(ty) => quote! {
                #callsite
                let __conc_profiler_future = async move {
                    #[allow(
                        unknown_lints,
                        unreachable_code,
                        clippy::diverging_sub_expression,
                        clippy::empty_loop,
                        clippy::let_unit_value,
                        clippy::needless_return
                    )]
                    if false {
                        let __conc_profiler_ret: #ty = loop {};
                        return __conc_profiler_ret;
                    }
                    #body
                };
                #krate::__private::instrument(&__CONC_PROFILER_CALLSITE, __conc_profiler_future).await
            },
            _ => quote! {
                #callsite
                let __conc_profiler_future = async move { #body };
                #krate::__private::instrument(&__CONC_PROFILER_CALLSITE, __conc_profiler_future).await
            },
        }
    } else if impl_future {
        // The body runs in a closure (so an early `return` still goes through the wrapper) called through an
        // `FnOnce` bound: a `&mut self` or `&'a mut T` captured by it can then be reborrowed into the future.
        let wrapped = quote!(#krate::__private::instrument(&__CONC_PROFILER_CALLSITE, __conc_profiler_future));
        let wrapped = match fut_ret {
            FutureReturn::ImplUnpin | FutureReturn::Boxed => quote!(::std::boxed::Box::pin(#wrapped)),
            _ => wrapped,
        };
        quote! {
            #callsite
            let __conc_profiler_future = #krate::__private::call_once(move || { #(#stmts)* });
            #wrapped
        }
    } else {
        quote! {
            let __conc_profiler_guard = {
                #callsite
                #krate::__private::enter(&__CONC_PROFILER_CALLSITE)
            };
            #(#stmts)*
        }
    };

    quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    }
}
