//! Fake binding paths, binding interfaces and the NetCfg enumerators (see `fakes.rs`).

use std::cell::RefCell;

use windows::Win32::Foundation::{E_NOTIMPL, E_POINTER, S_FALSE};
use windows::Win32::NetworkManagement::NetManagement::*;
use windows_core::{BOOL, OutRef, PWSTR, Ref, Result, implement};

use crate::fakes::{Shared, unexpected};

/// `Next(1, …)` over `items`: one element at a time, S_FALSE at the end.
fn enum_next<T: Clone>(
    items: &[T],
    next: &RefCell<usize>,
    celt: u32,
    out: *mut Option<T>,
    fetched: *mut u32,
) -> Result<()> {
    if celt != 1 || out.is_null() {
        return Err(E_POINTER.into());
    }
    let mut next = next.borrow_mut();
    let item = items.get(*next).cloned();
    *next += usize::from(item.is_some());
    let got = u32::from(item.is_some());
    // SAFETY: the caller's slot (checked non-null).
    unsafe { *out = item };
    if !fetched.is_null() {
        // SAFETY: the caller's count (checked non-null).
        unsafe { *fetched = got };
    }
    if got == 1 {
        Ok(())
    } else {
        Err(S_FALSE.into())
    }
}

/// The NetCfg enumerator fakes over a fixed list: `Next(1, …)` through [`enum_next`], `Reset`,
/// and `E_NOTIMPL` for `Skip` and `Clone` (the notify object uses neither). The three enumerator
/// interfaces differ only in their element type. (`#[implement(I)]` on `S` generates `S_Impl`,
/// which implements `I_Impl`; the structs stay outside the macro because `#[implement]` does not
/// resolve `self` in code expanded from `macro_rules!` tokens.)
macro_rules! enumerator_impl {
    ($name_impl:ident: $interface:ident / $interface_impl:ident<$item:ident>) => {
        impl $interface_impl for $name_impl {
            fn Next(&self, celt: u32, out: *mut Option<$item>, fetched: *mut u32) -> Result<()> {
                enum_next(&self.items, &self.next, celt, out, fetched)
            }
            fn Skip(&self, _: u32) -> Result<()> {
                Err(E_NOTIMPL.into())
            }
            fn Reset(&self) -> Result<()> {
                *self.next.borrow_mut() = 0;
                Ok(())
            }
            fn Clone(&self, _: *const Option<$interface>) -> Result<()> {
                Err(E_NOTIMPL.into())
            }
        }
    };
}

#[implement(IEnumNetCfgBindingPath)]
pub struct PathEnum {
    pub items: Vec<INetCfgBindingPath>,
    pub next: RefCell<usize>,
}
enumerator_impl!(
    PathEnum_Impl: IEnumNetCfgBindingPath / IEnumNetCfgBindingPath_Impl<INetCfgBindingPath>
);

#[implement(IEnumNetCfgBindingInterface)]
pub struct InterfaceEnum {
    pub items: Vec<INetCfgBindingInterface>,
    pub next: RefCell<usize>,
}
enumerator_impl!(
    InterfaceEnum_Impl:
    IEnumNetCfgBindingInterface / IEnumNetCfgBindingInterface_Impl<INetCfgBindingInterface>
);

#[implement(IEnumNetCfgComponent)]
pub struct ComponentEnum {
    pub items: Vec<INetCfgComponent>,
    pub next: RefCell<usize>,
}
enumerator_impl!(
    ComponentEnum_Impl: IEnumNetCfgComponent / IEnumNetCfgComponent_Impl<INetCfgComponent>
);

/// A binding path protocol → `lower` (one binding interface).
#[implement(INetCfgBindingPath)]
pub struct Path {
    world: Shared,
    upper: INetCfgComponent,
    lower: INetCfgComponent,
    pub enabled: bool,
}

pub fn path(
    world: &Shared,
    upper: &INetCfgComponent,
    lower: &INetCfgComponent,
    enabled: bool,
) -> INetCfgBindingPath {
    Path {
        world: world.clone(),
        upper: upper.clone(),
        lower: lower.clone(),
        enabled,
    }
    .into()
}

impl INetCfgBindingPath_Impl for Path_Impl {
    fn IsSamePathAs(&self, _: Ref<INetCfgBindingPath>) -> Result<()> {
        Err(unexpected(&self.world, "IsSamePathAs"))
    }
    fn IsSubPathOf(&self, _: Ref<INetCfgBindingPath>) -> Result<()> {
        Err(unexpected(&self.world, "IsSubPathOf"))
    }
    fn IsEnabled(&self) -> Result<()> {
        self.world.borrow_mut().call("IsEnabled".into())?;
        if self.enabled {
            Ok(())
        } else {
            Err(S_FALSE.into())
        }
    }
    fn Enable(&self, _: BOOL) -> Result<()> {
        Err(unexpected(&self.world, "Enable"))
    }
    fn GetPathToken(&self, _: *mut PWSTR) -> Result<()> {
        Err(unexpected(&self.world, "GetPathToken"))
    }
    fn GetOwner(&self, _: OutRef<INetCfgComponent>) -> Result<()> {
        Err(unexpected(&self.world, "GetOwner"))
    }
    fn GetDepth(&self) -> Result<u32> {
        Err(unexpected(&self.world, "GetDepth"))
    }
    fn EnumBindingInterfaces(&self, out: OutRef<IEnumNetCfgBindingInterface>) -> Result<()> {
        self.world
            .borrow_mut()
            .call("EnumBindingInterfaces".into())?;
        let interface: INetCfgBindingInterface = BindingInterface {
            world: self.world.clone(),
            upper: self.upper.clone(),
            lower: self.lower.clone(),
        }
        .into();
        out.write(Some(
            InterfaceEnum {
                items: vec![interface],
                next: RefCell::new(0),
            }
            .into(),
        ))
    }
}

#[implement(INetCfgBindingInterface)]
pub struct BindingInterface {
    world: Shared,
    upper: INetCfgComponent,
    lower: INetCfgComponent,
}

impl INetCfgBindingInterface_Impl for BindingInterface_Impl {
    fn GetName(&self, _: *mut PWSTR) -> Result<()> {
        Err(unexpected(&self.world, "GetName"))
    }
    fn GetUpperComponent(&self, out: OutRef<INetCfgComponent>) -> Result<()> {
        out.write(Some(self.upper.clone()))
    }
    fn GetLowerComponent(&self, out: OutRef<INetCfgComponent>) -> Result<()> {
        self.world.borrow_mut().call("GetLowerComponent".into())?;
        out.write(Some(self.lower.clone()))
    }
}
