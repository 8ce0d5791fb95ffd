# HealthRec server image: build with the .NET SDK, run on the ASP.NET Core runtime.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig HealthRec.sln ./
COPY src/ src/
# The CodeSystems HealthRec publishes are compiled into the server (the codes it writes come from them).
COPY fhir-profiles/ fhir-profiles/
RUN dotnet publish src/HealthRec.Server/HealthRec.Server.csproj -c Release -o /out --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# LightGBM's native library needs the GNU OpenMP runtime.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/ ./
COPY hooks/ hooks/
COPY models/ models/
COPY fhir-profiles/ fhir-profiles/
COPY data/terminology/ data/terminology/
COPY data/knowledge/ data/knowledge/
COPY data/sample/ data/sample/
# What the server writes at run time (its SQLite files, audit spool, model registry, scoring work) belongs to its
# user; volumes mounted at var/audit-spool and var/shared (compose.yaml) take that ownership when first created.
RUN mkdir -p var/audit-spool var/shared && chown -R app:app var models
USER app
ENV ASPNETCORE_URLS=http://+:8080
EXPOSE 8080
ENTRYPOINT ["dotnet", "healthrec.dll", "serve"]
