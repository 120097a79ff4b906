"""Products, suppliers and materials: master data, validated before it is stored."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cloud.db.database import Database
from cloud.domain.catalog.identifiers import di_problem
from cloud.domain.catalog.models import Material, Product, Supplier
from cloud.domain.catalog.schemas import (
    MaterialIn,
    MaterialOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    SupplierIn,
    SupplierOut,
)
from cloud.domain.errors import ConflictError, InvalidFieldError, NotFoundError


def product_out(product: Product) -> ProductOut:
    return msgspec.convert(product, ProductOut, from_attributes=True)


class CatalogService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_products(self) -> list[ProductOut]:
        async with self.db.sessions() as session:
            products = (await session.scalars(select(Product).order_by(Product.di))).all()
        return [product_out(p) for p in products]

    async def get_product(self, di: str) -> ProductOut:
        async with self.db.sessions() as session:
            product = await session.scalar(select(Product).where(Product.di == di))
        if product is None:
            raise NotFoundError("product", "di", di)
        return product_out(product)

    async def create_product(self, data: ProductIn) -> ProductOut:
        problem = di_problem(data.issuer, data.di)
        if problem is not None:
            raise InvalidFieldError("di", problem)
        async with self.db.sessions.begin() as session:
            if await session.scalar(select(Product.id).where(Product.di == data.di)) is not None:
                raise ConflictError(f"product with di {data.di!r} already exists", field="di")
            product = Product(**msgspec.structs.asdict(data))
            session.add(product)
            await session.flush()
            await session.refresh(product)
        return product_out(product)

    async def update_product(self, di: str, patch: ProductPatch) -> ProductOut:
        async with self.db.sessions.begin() as session:
            product = await session.scalar(select(Product).where(Product.di == di))
            if product is None:
                raise NotFoundError("product", "di", di)
            for name, value in msgspec.structs.asdict(patch).items():
                if value is not msgspec.UNSET:
                    setattr(product, name, value)
            await session.flush()
            await session.refresh(product)
        return product_out(product)

    async def delete_product(self, di: str) -> None:
        try:
            async with self.db.sessions.begin() as session:
                product = await session.scalar(select(Product).where(Product.di == di))
                if product is None:
                    raise NotFoundError("product", "di", di)
                await session.delete(product)
        except IntegrityError as exc:
            raise ConflictError(
                f"product with di {di!r} is used by work orders and cannot be deleted", field="di"
            ) from exc

    async def list_suppliers(self) -> list[SupplierOut]:
        async with self.db.sessions() as session:
            rows = (await session.scalars(select(Supplier).order_by(Supplier.code))).all()
        return [msgspec.convert(s, SupplierOut, from_attributes=True) for s in rows]

    async def create_supplier(self, data: SupplierIn) -> SupplierOut:
        async with self.db.sessions.begin() as session:
            if await session.scalar(select(Supplier.id).where(Supplier.code == data.code)):
                raise ConflictError(f"supplier {data.code!r} already exists", field="code")
            session.add(Supplier(**msgspec.structs.asdict(data)))
        return SupplierOut(**msgspec.structs.asdict(data))

    async def list_materials(self) -> list[MaterialOut]:
        async with self.db.sessions() as session:
            rows = (
                await session.execute(
                    select(Material, Supplier.code)
                    .outerjoin(Supplier, Material.supplier_id == Supplier.id)
                    .order_by(Material.code)
                )
            ).all()
        return [
            MaterialOut(code=m.code, name=m.name, di=m.di, uom=m.uom, supplier=supplier)
            for m, supplier in rows
        ]

    async def create_material(self, data: MaterialIn) -> MaterialOut:
        async with self.db.sessions.begin() as session:
            if await session.scalar(select(Material.id).where(Material.code == data.code)):
                raise ConflictError(f"material {data.code!r} already exists", field="code")
            supplier_id = None
            if data.supplier is not None:
                supplier_id = await session.scalar(
                    select(Supplier.id).where(Supplier.code == data.supplier)
                )
                if supplier_id is None:
                    raise InvalidFieldError("supplier", f"no supplier with code {data.supplier!r}")
            session.add(
                Material(
                    code=data.code,
                    name=data.name,
                    di=data.di,
                    uom=data.uom,
                    supplier_id=supplier_id,
                )
            )
        return MaterialOut(
            code=data.code, name=data.name, di=data.di, uom=data.uom, supplier=data.supplier
        )
