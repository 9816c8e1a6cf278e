# The Debian package (issue 15 item 7): `cpack -G DEB` in a build directory makes
# latchkey_<version>_amd64.deb with /usr/bin/latchkey, the hardened systemd unit, the default
# /etc/latchkey/latchkey.toml (a conffile) and the maintainer scripts in packaging/deb/.
# scripts/package-test.sh builds, installs, starts, stops and purges it.
include(GNUInstallDirs)
set(_pkg "${PROJECT_SOURCE_DIR}/packaging/deb")
install(FILES "${_pkg}/latchkey.service" DESTINATION lib/systemd/system COMPONENT latchkey)
install(FILES "${_pkg}/latchkey.toml" DESTINATION /etc/latchkey COMPONENT latchkey)
install(FILES "${PROJECT_SOURCE_DIR}/docs/deployment.md" "${PROJECT_SOURCE_DIR}/docs/configuration.md"
        DESTINATION share/doc/latchkey COMPONENT latchkey)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "latchkey")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "Latchkey maintainers <latchkey@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "self-hosted authentication server speaking Clerk's Frontend API")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")  # latchkey_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# shlibdeps finds libc6 and libssl3 (linked); libcurl and libpq are opened at run time
# (src/core/shared_library.hpp), so they are named here.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4, passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libpq5")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${_pkg}/conffiles;${_pkg}/postinst;${_pkg}/prerm;${_pkg}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
