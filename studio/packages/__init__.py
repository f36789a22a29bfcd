"""Alpine's apk packages in a project (Qt-free): versions, indexes, package files, resolution,
downloads, the lock file and the package layer of the image."""
