"""HTTP routes of the catalog: products (by DI), suppliers, materials."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from cloud.domain.catalog.schemas import (
    MaterialIn,
    MaterialOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    SupplierIn,
    SupplierOut,
)
from cloud.domain.catalog.services import CatalogService


class CatalogController(Controller):
    path = "/api"
    tags = ("catalog",)

    @get("/products")
    async def list_products(
        self, catalog_service: NamedDependency[CatalogService]
    ) -> list[ProductOut]:
        return await catalog_service.list_products()

    @post("/products")
    async def create_product(
        self, catalog_service: NamedDependency[CatalogService], data: JSONBody[ProductIn]
    ) -> ProductOut:
        return await catalog_service.create_product(data)

    @get("/products/{di:str}")
    async def get_product(
        self, catalog_service: NamedDependency[CatalogService], di: FromPath[str]
    ) -> ProductOut:
        return await catalog_service.get_product(di)

    @patch("/products/{di:str}")
    async def update_product(
        self,
        catalog_service: NamedDependency[CatalogService],
        di: FromPath[str],
        data: JSONBody[ProductPatch],
    ) -> ProductOut:
        return await catalog_service.update_product(di, data)

    @delete("/products/{di:str}")
    async def delete_product(
        self, catalog_service: NamedDependency[CatalogService], di: FromPath[str]
    ) -> None:
        await catalog_service.delete_product(di)

    @get("/suppliers")
    async def list_suppliers(
        self, catalog_service: NamedDependency[CatalogService]
    ) -> list[SupplierOut]:
        return await catalog_service.list_suppliers()

    @post("/suppliers")
    async def create_supplier(
        self, catalog_service: NamedDependency[CatalogService], data: JSONBody[SupplierIn]
    ) -> SupplierOut:
        return await catalog_service.create_supplier(data)

    @get("/materials")
    async def list_materials(
        self, catalog_service: NamedDependency[CatalogService]
    ) -> list[MaterialOut]:
        return await catalog_service.list_materials()

    @post("/materials")
    async def create_material(
        self, catalog_service: NamedDependency[CatalogService], data: JSONBody[MaterialIn]
    ) -> MaterialOut:
        return await catalog_service.create_material(data)
