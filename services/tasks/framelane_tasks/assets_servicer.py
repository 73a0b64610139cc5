"""Thin gRPC handlers of AssetService (uploads, imports, workspace assets)."""

from framelane.tasks.v1 import assets_pb2, assets_pb2_grpc
from framelane_core.context import current_principal
from framelane_core.grpcserver import set_http_status
from framelane_core.protoconv import nullable
from framelane_tasks.assets import Assets


class AssetServicer(assets_pb2_grpc.AssetServiceServicer):
    def __init__(self, assets: Assets):
        self.assets = assets

    async def CreateUpload(self, request, context):
        upload = await self.assets.create_upload(current_principal(), request)
        await set_http_status(context, 201)
        return upload

    async def CompleteUpload(self, request, context):
        row = await self.assets.complete_upload(request.key, request.size)
        return assets_pb2.CompleteUploadResponse(id=row["id"], status=row["status"])

    async def CreateImport(self, request, context):
        row = await self.assets.create_import(current_principal(), request.url,
                                              request.filename if request.HasField("filename") else None)
        await set_http_status(context, 202)
        return self.assets.import_message(row)

    async def GetImport(self, request, context):
        return self.assets.import_message(await self.assets.get_import(current_principal(), request.id))

    async def ListAssets(self, request, context):
        rows, cursor = await self.assets.list_page(current_principal(), request.limit, request.cursor)
        return assets_pb2.ListAssetsResponse(data=[self.assets.asset_message(r) for r in rows],
                                             next_cursor=nullable(cursor), has_more=cursor is not None)
