# Installing snigate as a service (cmake --install) and the Debian package
# (cpack -G DEB): the binary, the systemd unit, the default configuration in
# /etc/snigate and the man page. docs/install.md describes the result.
include(GNUInstallDirs)

install(TARGETS snigate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names the binary by its installed path, known only at install time:
# `cmake --install --prefix` and CPack (which installs into /usr) choose it.
set(snigate_unit_in ${CMAKE_CURRENT_LIST_DIR}/snigate.service.in)
set(snigate_unit ${CMAKE_BINARY_DIR}/packaging/snigate.service)
install(CODE "
  set(SNIGATE_BINARY \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/snigate\")
  configure_file(\"${snigate_unit_in}\" \"${snigate_unit}\" @ONLY)
")
install(FILES ${snigate_unit} DESTINATION lib/systemd/system)

# The configuration lives in /etc whatever the prefix, where the unit looks for
# it. `cmake --install` over an existing one keeps the operator's file; the
# package marks it a conffile, so dpkg asks before replacing an edited one.
install(CODE "
  if(EXISTS \"\$ENV{DESTDIR}/etc/snigate/snigate.yaml\")
    message(STATUS \"Keeping: \$ENV{DESTDIR}/etc/snigate/snigate.yaml\")
  else()
    file(INSTALL \"${CMAKE_CURRENT_LIST_DIR}/snigate.yaml\" DESTINATION /etc/snigate)
  endif()
")

# man pages are installed compressed, as Debian's policy asks; -n keeps the
# build reproducible (no name or time stamp in the .gz).
find_program(GZIP_PROGRAM gzip REQUIRED)
set(snigate_man_gz ${CMAKE_BINARY_DIR}/packaging/snigate.8.gz)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packaging)
add_custom_command(OUTPUT ${snigate_man_gz}
                   COMMAND ${GZIP_PROGRAM} -9n -c ${CMAKE_CURRENT_LIST_DIR}/snigate.8 > ${snigate_man_gz}
                   DEPENDS ${CMAKE_CURRENT_LIST_DIR}/snigate.8 VERBATIM)
add_custom_target(snigate_man ALL DEPENDS ${snigate_man_gz})
install(FILES ${snigate_man_gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME snigate)
set(CPACK_PACKAGE_VENDOR "snigate")
set(CPACK_PACKAGE_CONTACT "snigate maintainers <snigate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "L4 ingress gateway that routes TLS, MySQL and PostgreSQL by server name")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # snigate_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "snigate reads what a client says first (a TLS ClientHello, a MySQL or\n"
    "PostgreSQL login, or nothing) and joins it to a backend: TLS passed through,\n"
    "terminated with a certificate chosen by SNI, re-encrypted, or plain TCP.\n"
    "It reads Traefik's file-provider YAML for TCP routers and logs the reason\n"
    "for each refused connection. Runs as the systemd service snigate.")
string(REPLACE ";" "" CPACK_DEBIAN_PACKAGE_DESCRIPTION "${CPACK_DEBIAN_PACKAGE_DESCRIPTION}")
# The libraries' packages come from dpkg-shlibdeps; adduser makes the user.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/deb/conffiles
    ${CMAKE_CURRENT_LIST_DIR}/deb/postinst
    ${CMAKE_CURRENT_LIST_DIR}/deb/prerm
    ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
