//! The tenant scope of a query. Tenants are a security boundary: every read of a tenant's rows
//! starts from [`Scoped::of_tenant`] or [`Scoped::in_tenant`], so the tenant filter is part of
//! how a query begins, not a line each repository has to remember.
//!
//! A service marks its tenant-owned entities with [`tenant_scoped!`](crate::tenant_scoped).

use crate::StoreError;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PrimaryKeyTrait, QueryFilter, Select, Value,
};
use std::future::Future;

pub trait Scoped: EntityTrait {
    /// The column naming the tenant a row belongs to.
    fn tenant_column() -> Self::Column;

    /// The rows of `tenant`.
    fn of_tenant(tenant: impl Into<Value>) -> Select<Self> {
        Self::find().filter(Self::tenant_column().eq(tenant))
    }

    /// The row with primary key `id`, if it is `tenant`'s.
    fn in_tenant(
        tenant: impl Into<Value>,
        id: impl Into<<Self::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    ) -> Select<Self> {
        Self::find_by_id(id).filter(Self::tenant_column().eq(tenant))
    }

    /// The row with primary key `id`, if it exists and is `tenant`'s.
    fn get<'a, C: ConnectionTrait>(
        db: &'a C,
        tenant: impl Into<Value>,
        id: impl Into<<Self::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    ) -> impl Future<Output = Result<Option<Self::Model>, StoreError>> + Send + 'a {
        let query = Self::in_tenant(tenant, id);
        async move { Ok(query.one(db).await?) }
    }
}

/// Implements [`Scoped`] for entity modules whose tenant column is `tenant_id`:
/// `kefu_store::tenant_scoped!(agent, conversation);`
#[macro_export]
macro_rules! tenant_scoped {
    ($($entity:ident),+ $(,)?) => {
        $(
            impl $crate::scope::Scoped for $entity::Entity {
                fn tenant_column() -> $entity::Column {
                    $entity::Column::TenantId
                }
            }
        )+
    };
}
