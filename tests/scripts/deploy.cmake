# Deployment tests (docs/deployment.md): one CTest entry per check,
# label `deploy`. They install their tools (scripts/install-deps.sh --deploy),
# need root for image and playbook, and skip (exit 77) with the reason when
# something they need is missing. image and playbook each build tlflow again
# (in the image and in a chroot): RUN_SERIAL keeps them off the other tests'
# cores. Run them alone with `ctest -L deploy`.
foreach(_check lint vagrant playbook image)
  add_test(NAME deploy.${_check}
           COMMAND ${PROJECT_SOURCE_DIR}/scripts/deploy-test.sh ${_check}
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(deploy.${_check} PROPERTIES
    LABELS deploy SKIP_RETURN_CODE 77 TIMEOUT 1800)
endforeach()
set_tests_properties(deploy.playbook deploy.image PROPERTIES RUN_SERIAL TRUE)
