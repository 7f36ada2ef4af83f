//! `#[weft::main]` and `#[weft::test]`: an `async fn` run to completion on a weft runtime.
//!
//! Use them through weft (`weft::main`, `weft::test`, behind weft's default feature
//! `macros`), not from this crate directly: the expansion names `::weft` (or the path given
//! as `crate = "..."`).
//!
//! # What they expand to
//!
//! ```ignore
//! #[weft::main(loops = 4)]
//! async fn main() -> std::io::Result<()> { body }
//! // becomes
//! fn main() -> std::io::Result<()> {
//!     let body = async move { body };
//!     ::weft::rt::Runtime::builder().loops(4).build()
//!         .expect("#[weft::main]: building the weft runtime")
//!         .block_on(body)
//! }
//! ```
//!
//! The body's value is returned, so `-> Result<..>` and `?` work. Errors in the attribute or
//! the function (not `async`, parameters, an unknown option, a bad value) are reported at the
//! offending tokens of the user's code.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, Token};

/// Runs `async fn main` on a weft runtime.
///
/// Options:
/// - none: [`Runtime::builder()`](../weft/rt/struct.Builder.html) defaults, one loop thread per
///   core plus the caller's loop;
/// - `loops = N`: `N` loop threads besides the caller's (`Builder::loops`);
/// - `current_thread`: only the caller's loop, like tokio's current-thread runtime;
/// - `crate = "path"`: where weft is, for a crate that renamed it in `Cargo.toml` or uses
///   it through a re-export (the expansion names `::weft` otherwise).
///
/// ```
/// #[weft::main(current_thread)]
/// async fn main() -> std::io::Result<()> {
///     let task = weft::spawn(async { 6 * 7 });
///     assert_eq!(task.await.unwrap(), 42);
///     Ok(())
/// }
/// ```
///
/// ```
/// #[weft::main(loops = 2)]
/// async fn main() {
///     let rt = weft::rt::Handle::current();
///     assert_eq!(rt.loops(), 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    match expand(Kind::Main, args.into(), item.clone()) {
        Ok(expanded) => expanded.into(),
        Err(err) => {
            // Besides the error, a plain `fn main` stands in for the user's, so the compiler
            // does not add a second, misleading error ("`main` function not found").
            let error = err.into_compile_error();
            let stand_in = stand_in_main(item);
            quote!(#error #stand_in).into()
        }
    }
}

/// `fn main` with the user's attributes, visibility and return type, and a body that type
/// checks against any return type; nothing if the item is not a function at all.
fn stand_in_main(item: TokenStream2) -> TokenStream2 {
    let Ok(mut function) = syn::parse2::<ItemFn>(item) else {
        return quote!(
            fn main() {}
        );
    };
    function.sig.asyncness = None;
    function.sig.inputs.clear();
    function.sig.generics = syn::Generics::default();
    function.sig.ident = syn::Ident::new("main", function.sig.ident.span());
    function.block = syn::parse_quote!({ ::core::unreachable!() });
    quote!(#function)
}

/// Runs an `async fn` test on a fresh current-thread weft runtime (one per test, so tests
/// stay independent); `loops = N` gives it `N` loop threads besides the caller's, and
/// `crate = "path"` is as for [`main`](macro@main).
///
/// ```
/// #[weft::test]
/// async fn sleeps() {
///     weft::time::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// # fn main() {}
/// ```
///
/// ```
/// #[weft::test(loops = 2)]
/// async fn runs_on_two_loops() -> std::io::Result<()> {
///     assert_eq!(weft::rt::Handle::current().loops(), 2);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[weft::main]",
            Kind::Test => "#[weft::test]",
        }
    }
}

/// The runtime the attribute asks for.
enum Flavor {
    /// Builder defaults (one loop per core).
    Default,
    /// Only the caller's loop.
    CurrentThread,
    /// `N` loop threads besides the caller's.
    Loops(usize),
}

/// What the attribute's options ask for.
struct Options {
    flavor: Flavor,
    /// The path of the weft crate in the user's crate (`crate = "..."`), `::weft` by default.
    weft: syn::Path,
}

fn parse_options(kind: Kind, args: TokenStream2) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut flavor: Option<(Flavor, Span)> = None;
    let mut weft: Option<syn::Path> = None;
    for meta in metas {
        let (option, span) = match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("crate") => {
                if weft.is_some() {
                    return Err(syn::Error::new_spanned(nv, "`crate` is given twice"));
                }
                weft = Some(parse_crate_path(&nv.value)?);
                continue;
            }
            Meta::Path(path) if path.is_ident("current_thread") => {
                (Flavor::CurrentThread, path.span())
            }
            Meta::NameValue(nv) if nv.path.is_ident("loops") => {
                (Flavor::Loops(parse_loops(&nv.value)?), nv.span())
            }
            Meta::Path(path) if path.is_ident("loops") => {
                return Err(syn::Error::new_spanned(
                    path,
                    "`loops` needs a value: `loops = N`",
                ))
            }
            Meta::List(list) if list.path.is_ident("loops") => {
                return Err(syn::Error::new_spanned(
                    list,
                    "write `loops = N`, not `loops(N)`",
                ))
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other.path(),
                    format!(
                        "unknown option `{}` of {}: expected `loops = N`, `current_thread` \
                         or `crate = \"path\"`",
                        path_text(other.path()),
                        kind.attr()
                    ),
                ))
            }
        };
        if let Some((_, first)) = &flavor {
            let mut err = syn::Error::new(
                span,
                "`loops = N` and `current_thread` choose the runtime: give only one of them",
            );
            err.combine(syn::Error::new(*first, "first chosen here"));
            return Err(err);
        }
        flavor = Some((option, span));
    }
    Ok(Options {
        flavor: flavor.map_or(Flavor::Default, |(flavor, _)| flavor),
        weft: weft.unwrap_or_else(|| syn::parse_quote!(::weft)),
    })
}

/// `crate = "path"`: where weft is, for a crate that renamed or re-exports it.
fn parse_crate_path(value: &Expr) -> syn::Result<syn::Path> {
    let bad = || {
        syn::Error::new_spanned(
            value,
            "`crate` takes the path of the weft crate as a string, such as `crate = \"my_weft\"`",
        )
    };
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(path),
            ..
        }) => path.parse::<syn::Path>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn parse_loops(value: &Expr) -> syn::Result<usize> {
    let bad = || {
        syn::Error::new_spanned(
            value,
            "`loops` takes a whole number of loop threads, such as `loops = 4`",
        )
    };
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse::<usize>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let Options { flavor, weft } = parse_options(kind, args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "{} needs an `async fn`: add `async` before `fn`",
                kind.attr()
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!("the function of {} takes no parameters", kind.attr()),
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("the function of {} cannot be generic", kind.attr()),
        ));
    }
    if kind == Kind::Main && sig.ident != "main" {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            "#[weft::main] goes on `async fn main`; use #[weft::test] for tests",
        ));
    }
    if kind == Kind::Test {
        if let Some(attr) = function.attrs.iter().find(|a| a.path().is_ident("test")) {
            return Err(syn::Error::new_spanned(
                attr,
                "#[weft::test] already makes this a test: remove this #[test]",
            ));
        }
    }

    let builder = match (kind, flavor) {
        (_, Flavor::CurrentThread) | (Kind::Test, Flavor::Default) => quote!(.current_thread()),
        (_, Flavor::Loops(n)) => quote!(.loops(#n)),
        (Kind::Main, Flavor::Default) => quote!(),
    };
    let body = &function.block;
    // The body keeps its own spans, so type errors in it point at the user's code.
    let body_span = body.span();
    let expect = format!("{}: building the weft runtime", kind.attr());
    let new_body = quote_spanned! {body_span=>
        {
            let body = async move #body;
            #weft::rt::Runtime::builder()
                #builder
                .build()
                .expect(#expect)
                .block_on(body)
        }
    };
    function.sig.asyncness = None;
    function.block = syn::parse2(new_body)?;
    let test_attr = match kind {
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => quote!(),
    };
    Ok(quote! {
        #test_attr
        #function
    })
}
