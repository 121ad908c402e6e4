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
pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
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

/// Whether the return type is `impl Future<…>` (or `impl … + Future<…>`).
fn returns_impl_future(sig: &Signature) -> bool {
    let ReturnType::Type(_, ty) = &sig.output else { return false };
    let Type::ImplTrait(TypeImplTrait { bounds, .. }) = &**ty else { return false };
    bounds.iter().any(|b| match b {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == "Future"),
        _ => false,
    })
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
    let impl_future = !is_async && returns_impl_future(&sig);

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
        let inner = match &sig.output {
            // Pin the block's output type so `?` knows its target (the compiler deduces an async block's output
            // from the `Future<Output = T>` bound).
            ReturnType::Type(_, ty) if !contains_impl_trait(ty) => quote! {
                #krate::__private::typed_future::<#ty, _>(async move { #(#stmts)* })
            },
            _ => quote!(async move { #(#stmts)* }),
        };
        quote! {
            #callsite
            let __conc_profiler_future = #inner;
            #krate::__private::instrument(&__CONC_PROFILER_CALLSITE, __conc_profiler_future).await
        }
    } else if impl_future {
        quote! {
            #callsite
            #[allow(clippy::redundant_closure_call)]
            let __conc_profiler_future = (move || { #(#stmts)* })();
            #krate::__private::instrument(&__CONC_PROFILER_CALLSITE, __conc_profiler_future)
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
