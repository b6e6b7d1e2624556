module plasmite.dev/plasmite/bindings/go

go 1.19
